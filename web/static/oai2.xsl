<?xml version="1.0" encoding="UTF-8"?>
<!--
  Renders Huiju's OAI-PMH 2.0 responses as a readable page in a browser (XSLT 1.0).
  Harvesters ignore the xml-stylesheet instruction and read the XML itself.
  No inline styles or scripts: the site's Content-Security-Policy allows 'self' only.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:oai="http://www.openarchives.org/OAI/2.0/"
    xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:id="http://www.openarchives.org/OAI/2.0/oai-identifier"
    xmlns:t="https://huiju.invalid/ns/oai-tombstone/1.0"
    exclude-result-prefixes="oai oai_dc dc id t">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="base" select="/oai:OAI-PMH/oai:request"/>
  <xsl:variable name="verb" select="/oai:OAI-PMH/oai:request/@verb"/>

  <xsl:template match="/">
    <html lang="zh">
      <head>
        <meta charset="utf-8"/>
        <title>OAI-PMH <xsl:value-of select="$verb"/> · 汇聚 Huiju</title>
        <link rel="stylesheet" href="/static/huiju.css"/>
      </head>
      <body class="oai">
        <header>
          <h1>汇聚 OAI-PMH 2.0</h1>
          <nav class="oai-verbs">
            <a href="{$base}?verb=Identify">Identify 仓储信息</a> ·
            <a href="{$base}?verb=ListMetadataFormats">ListMetadataFormats 元数据格式</a> ·
            <a href="{$base}?verb=ListSets">ListSets 集合</a> ·
            <a href="{$base}?verb=ListIdentifiers&amp;metadataPrefix=oai_dc">ListIdentifiers 标识符</a> ·
            <a href="{$base}?verb=ListRecords&amp;metadataPrefix=oai_dc">ListRecords 记录</a>
          </nav>
        </header>
        <main>
          <p class="oai-request">
            请求 (request): <code><xsl:value-of select="$base"/></code>
            <xsl:for-each select="$base/@*">
              <xsl:text> </xsl:text><code><xsl:value-of select="name()"/>=<xsl:value-of select="."/></code>
            </xsl:for-each>
            · 响应时间 (responseDate): <xsl:value-of select="/oai:OAI-PMH/oai:responseDate"/>
          </p>
          <xsl:apply-templates select="/oai:OAI-PMH/oai:error"/>
          <xsl:apply-templates select="/oai:OAI-PMH/oai:Identify | /oai:OAI-PMH/oai:ListMetadataFormats
              | /oai:OAI-PMH/oai:ListSets | /oai:OAI-PMH/oai:GetRecord | /oai:OAI-PMH/oai:ListIdentifiers
              | /oai:OAI-PMH/oai:ListRecords"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="oai:error">
    <p class="oai-error">错误 (error) <strong><xsl:value-of select="@code"/></strong>: <xsl:value-of select="."/></p>
  </xsl:template>

  <xsl:template match="oai:Identify">
    <h2>仓储信息 (Identify)</h2>
    <table class="oai-table">
      <xsl:for-each select="oai:*[not(self::oai:description)]">
        <tr><th><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
      <xsl:for-each select="oai:description/id:oai-identifier">
        <tr><th>oai-identifier</th><td><xsl:value-of select="id:sampleIdentifier"/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListMetadataFormats">
    <h2>元数据格式 (metadata formats)</h2>
    <table class="oai-table">
      <tr><th>metadataPrefix</th><th>schema</th><th>namespace</th><th></th></tr>
      <xsl:for-each select="oai:metadataFormat">
        <tr>
          <td><xsl:value-of select="oai:metadataPrefix"/></td>
          <td><a href="{oai:schema}"><xsl:value-of select="oai:schema"/></a></td>
          <td><xsl:value-of select="oai:metadataNamespace"/></td>
          <td><a href="{$base}?verb=ListRecords&amp;metadataPrefix={oai:metadataPrefix}">记录 records</a></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:ListSets">
    <h2>集合 (sets)</h2>
    <table class="oai-table">
      <tr><th>setSpec</th><th>名称 (setName)</th><th>说明 (setDescription)</th></tr>
      <xsl:for-each select="oai:set">
        <tr>
          <td><a href="{$base}?verb=ListRecords&amp;metadataPrefix=oai_dc&amp;set={oai:setSpec}">
            <xsl:value-of select="oai:setSpec"/></a></td>
          <td><xsl:value-of select="oai:setName"/></td>
          <td><xsl:value-of select="oai:setDescription//dc:description"/></td>
        </tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:GetRecord | oai:ListRecords">
    <h2><xsl:value-of select="local-name()"/></h2>
    <xsl:apply-templates select="oai:record"/>
    <xsl:apply-templates select="oai:resumptionToken"/>
  </xsl:template>

  <xsl:template match="oai:ListIdentifiers">
    <h2>ListIdentifiers</h2>
    <xsl:apply-templates select="oai:header"/>
    <xsl:apply-templates select="oai:resumptionToken"/>
  </xsl:template>

  <xsl:template match="oai:record">
    <section class="oai-record">
      <xsl:apply-templates select="oai:header"/>
      <xsl:apply-templates select="oai:metadata"/>
      <xsl:for-each select="oai:about/t:tombstone">
        <p class="oai-tombstone">已删除 (deleted): <xsl:value-of select="t:reason"/>
          <xsl:if test="t:successor"> → <a href="{$base}?verb=GetRecord&amp;metadataPrefix=oai_dc&amp;identifier={t:successor}">
            <xsl:value-of select="t:successor"/></a></xsl:if></p>
      </xsl:for-each>
    </section>
  </xsl:template>

  <xsl:template match="oai:header">
    <p class="oai-header">
      <xsl:if test="@status = 'deleted'"><strong>[deleted 已删除] </strong></xsl:if>
      <a href="{$base}?verb=GetRecord&amp;metadataPrefix=oai_dc&amp;identifier={oai:identifier}">
        <xsl:value-of select="oai:identifier"/></a>
      · <xsl:value-of select="oai:datestamp"/>
      <xsl:for-each select="oai:setSpec">
        · <a href="{$base}?verb=ListIdentifiers&amp;metadataPrefix=oai_dc&amp;set={.}"><xsl:value-of select="."/></a>
      </xsl:for-each>
    </p>
  </xsl:template>

  <xsl:template match="oai:metadata[oai_dc:dc]">
    <table class="oai-table">
      <xsl:for-each select="oai_dc:dc/dc:*">
        <tr><th><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
    </table>
  </xsl:template>

  <xsl:template match="oai:metadata">
    <pre class="oai-metadata"><xsl:apply-templates select="*" mode="text"/></pre>
  </xsl:template>

  <!-- Other formats (LOM, MARCXML, LRMI): an indented outline of elements and their text. -->
  <xsl:template match="*" mode="text">
    <xsl:param name="indent" select="''"/>
    <xsl:value-of select="concat($indent, '&lt;', local-name(), '&gt;')"/>
    <xsl:for-each select="@*"><xsl:value-of select="concat(' ', local-name(), '=', .)"/></xsl:for-each>
    <xsl:if test="normalize-space(text())"><xsl:value-of select="concat(' ', normalize-space(text()))"/></xsl:if>
    <xsl:text>&#10;</xsl:text>
    <xsl:apply-templates select="*" mode="text"><xsl:with-param name="indent" select="concat($indent, '  ')"/>
    </xsl:apply-templates>
  </xsl:template>

  <xsl:template match="oai:resumptionToken">
    <p class="oai-resumption">
      <xsl:if test="@completeListSize">共 <xsl:value-of select="@completeListSize"/> 条 (completeListSize), </xsl:if>
      本页从第 <xsl:value-of select="@cursor + 1"/> 条起 (cursor <xsl:value-of select="@cursor"/>)
      <xsl:choose>
        <xsl:when test="string(.)">
          · <a href="{$base}?verb={$verb}&amp;resumptionToken={.}">下一页 (next page)</a>
          <xsl:if test="@expirationDate"> · 有效期至 (expires) <xsl:value-of select="@expirationDate"/></xsl:if>
        </xsl:when>
        <xsl:otherwise> · 最后一页 (last page)</xsl:otherwise>
      </xsl:choose>
    </p>
  </xsl:template>
</xsl:stylesheet>
