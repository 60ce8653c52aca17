"""The demo federation: six simulated platforms that publish realistic Chinese K-12 lessons.

catalogue.py  textbooks (data/textbooks.json), lessons, teachers, wording: pure functions of a seed
platforms.py  who publishes which item, republications, additions/edits/deletions per tick
styles.py     each platform's house style and perturbations: Item -> Record
render.py     Record -> bytes: national JSON, OAI-PMH, HTML + JSON-LD, MARCXML, Turtle
oai_server.py the municipal OAI-PMH endpoint
sites.py      every platform's paths
servers.py    the HTTP servers, run in one child process (`python -m harvester.demo DIR`)
state.py      seed, size, ticks and ports, persisted in <INSTANCE_PATH>/demo/state.json

The orchestration (register, harvest, dedupe, index, review policy, curator)
is repository/demo.py; docs/demo.md explains it for users.
"""
