# ruff: noqa: E501  (rows of textbook titles read best one unit per line)
"""Real K-12 lesson titles for the dedup evaluation generator.

Each row: (subject, grade, volume, editions, chapter, titles). Titles are as
the textbooks print them; several appear in more than one row on purpose
(the same chapter title in two grades or two subjects is a hard negative).
"""

from __future__ import annotations

# fmt: off
LESSONS: list[tuple[str, int, str, tuple[str, ...], str, tuple[str, ...]]] = [
    # 数学 primary
    ("math", 1, "vol1", ("pep",), "第一单元 准备课", ("数一数", "比多少")),
    ("math", 1, "vol1", ("pep", "bnu"), "第三单元 1～5的认识和加减法", ("1～5的认识", "比大小", "第几", "分与合", "加法", "减法", "0的认识")),
    ("math", 1, "vol1", ("pep",), "第四单元 认识图形（一）", ("认识立体图形",)),
    ("math", 1, "vol1", ("pep",), "第五单元 6～10的认识和加减法", ("6和7的认识", "8和9的认识", "10的认识", "连加 连减", "加减混合")),
    ("math", 1, "vol1", ("pep",), "第八单元 20以内的进位加法", ("9加几", "8、7、6加几", "5、4、3、2加几")),
    ("math", 1, "vol2", ("pep",), "第二单元 20以内的退位减法", ("十几减9", "十几减5、4、3、2")),
    ("math", 2, "vol1", ("pep",), "第一单元 长度单位", ("认识厘米", "认识米", "认识线段")),
    ("math", 2, "vol1", ("pep", "bnu"), "第四单元 表内乘法（一）", ("乘法的初步认识", "5的乘法口诀", "2、3、4的乘法口诀", "乘加 乘减")),
    ("math", 2, "vol1", ("pep",), "第七单元 认识时间", ("认识时间",)),
    ("math", 2, "vol2", ("pep",), "第二单元 表内除法（一）", ("平均分", "除法的初步认识", "用2～6的乘法口诀求商")),
    ("math", 3, "vol1", ("pep",), "第一单元 时、分、秒", ("秒的认识", "时间的计算")),
    ("math", 3, "vol1", ("pep", "bnu"), "第七单元 长方形和正方形", ("四边形", "周长", "长方形和正方形的周长")),
    ("math", 3, "vol1", ("pep",), "第八单元 分数的初步认识", ("几分之一", "几分之几", "分数的简单计算")),
    ("math", 3, "vol2", ("pep",), "第一单元 位置与方向（一）", ("认识东、南、西、北", "认识东北、西北、东南、西南")),
    ("math", 3, "vol2", ("pep",), "第五单元 面积", ("面积和面积单位", "长方形、正方形面积的计算", "面积单位间的进率")),
    ("math", 4, "vol1", ("pep",), "第一单元 大数的认识", ("亿以内数的认识", "亿以内数的读法", "亿以内数的写法", "计算工具的认识")),
    ("math", 4, "vol1", ("pep", "bnu"), "第三单元 角的度量", ("线段、直线、射线", "角的度量", "角的分类", "画角")),
    ("math", 4, "vol2", ("pep",), "第三单元 运算定律", ("加法运算定律", "乘法运算定律")),
    ("math", 4, "vol2", ("pep",), "第五单元 三角形", ("三角形的特性", "三角形的分类", "三角形的内角和")),
    ("math", 5, "vol1", ("pep", "bnu"), "第一单元 小数乘法", ("小数乘整数", "小数乘小数", "积的近似数")),
    ("math", 5, "vol1", ("pep",), "第五单元 简易方程", ("用字母表示数", "方程的意义", "等式的性质", "解方程")),
    ("math", 5, "vol1", ("pep", "bnu"), "第六单元 多边形的面积", ("平行四边形的面积", "三角形的面积", "梯形的面积", "组合图形的面积")),
    ("math", 5, "vol2", ("pep",), "第四单元 分数的意义和性质", ("分数的意义", "真分数和假分数", "分数的基本性质", "约分", "通分")),
    ("math", 5, "vol2", ("pep",), "第三单元 长方体和正方体", ("长方体和正方体的认识", "长方体和正方体的表面积", "长方体和正方体的体积")),
    ("math", 6, "vol1", ("pep", "bnu"), "第五单元 圆", ("圆的认识", "圆的周长", "圆的面积", "扇形")),
    ("math", 6, "vol1", ("pep",), "第四单元 比", ("比的意义", "比的基本性质", "比的应用")),
    ("math", 6, "vol1", ("pep",), "第六单元 百分数（一）", ("百分数的意义和写法", "百分数和小数的互化")),
    ("math", 6, "vol2", ("pep", "bnu"), "第三单元 圆柱与圆锥", ("圆柱的认识", "圆柱的表面积", "圆柱的体积", "圆锥的认识", "圆锥的体积")),
    ("math", 6, "vol2", ("pep",), "第四单元 比例", ("比例的意义", "比例的基本性质", "正比例", "反比例", "比例尺")),
    # 数学 junior / senior
    ("math", 7, "vol1", ("pep", "bnu", "hujiao"), "第一章 有理数", ("正数和负数", "数轴", "相反数", "绝对值", "有理数的加法", "有理数的乘法", "乘方")),
    ("math", 7, "vol1", ("pep",), "第二章 整式的加减", ("整式", "合并同类项", "去括号")),
    ("math", 7, "vol1", ("pep", "bnu"), "第三章 一元一次方程", ("从算式到方程", "解一元一次方程", "实际问题与一元一次方程")),
    ("math", 7, "vol2", ("pep",), "第五章 相交线与平行线", ("相交线", "垂线", "平行线的判定", "平行线的性质", "平移")),
    ("math", 7, "vol2", ("pep",), "第八章 二元一次方程组", ("二元一次方程组", "消元——解二元一次方程组")),
    ("math", 8, "vol1", ("pep", "bnu"), "第十一章 三角形", ("与三角形有关的线段", "三角形的边", "三角形的高、中线与角平分线", "三角形的内角", "多边形及其内角和")),
    ("math", 8, "vol1", ("pep",), "第十二章 全等三角形", ("全等三角形", "三角形全等的判定", "角的平分线的性质")),
    ("math", 8, "vol1", ("pep",), "第十三章 轴对称", ("轴对称", "画轴对称图形", "等腰三角形", "最短路径问题")),
    ("math", 8, "vol2", ("pep", "bnu"), "第十七章 勾股定理", ("勾股定理", "勾股定理的逆定理")),
    ("math", 8, "vol2", ("pep",), "第十八章 平行四边形", ("平行四边形的性质", "平行四边形的判定", "矩形", "菱形", "正方形")),
    ("math", 9, "vol1", ("pep", "bnu"), "第二十一章 一元二次方程", ("一元二次方程", "配方法", "公式法", "因式分解法", "实际问题与一元二次方程")),
    ("math", 9, "vol1", ("pep",), "第二十二章 二次函数", ("二次函数的图象和性质", "二次函数与一元二次方程")),
    ("math", 9, "vol1", ("pep",), "第二十四章 圆", ("圆的有关性质", "垂直于弦的直径", "点和圆、直线和圆的位置关系", "正多边形和圆", "弧长和扇形面积")),
    ("math", 10, "compulsory-1", ("pep-a", "pep-b", "bnu"), "第一章 集合与常用逻辑用语", ("集合的概念", "集合间的基本关系", "集合的基本运算", "充分条件与必要条件")),
    ("math", 10, "compulsory-1", ("pep-a", "bnu"), "第三章 函数的概念与性质", ("函数的概念及其表示", "函数的基本性质", "幂函数")),
    # 语文
    ("chinese", 1, "vol1", ("tongbian",), "识字", ("天地人", "金木水火土", "口耳目", "日月水火", "对韵歌")),
    ("chinese", 1, "vol1", ("tongbian",), "汉语拼音", ("a o e", "i u ü y w", "b p m f", "d t n l")),
    ("chinese", 2, "vol1", ("tongbian",), "课文", ("小蝌蚪找妈妈", "我是什么", "植物妈妈有办法", "曹冲称象", "坐井观天")),
    ("chinese", 3, "vol1", ("tongbian",), "课文", ("大青树下的小学", "花的学校", "不懂就要问", "铺满金色巴掌的水泥道", "司马光")),
    ("chinese", 4, "vol1", ("tongbian",), "课文", ("观潮", "走月亮", "繁星", "爬山虎的脚", "精卫填海", "盘古开天地")),
    ("chinese", 5, "vol1", ("tongbian",), "课文", ("白鹭", "落花生", "桂花雨", "珍珠鸟", "将相和", "少年中国说（节选）")),
    ("chinese", 5, "vol2", ("tongbian",), "课文", ("草船借箭", "景阳冈", "猴王出世", "红楼春趣", "古诗三首")),
    ("chinese", 6, "vol1", ("tongbian",), "课文", ("草原", "丁香结", "竹节人", "宇宙生命之谜", "狼牙山五壮士", "开国大典")),
    ("chinese", 7, "vol1", ("tongbian",), "第一单元", ("春", "济南的冬天", "雨的四季", "古代诗歌四首")),
    ("chinese", 7, "vol1", ("tongbian",), "第二单元", ("秋天的怀念", "散步", "散文诗二首", "《世说新语》二则")),
    ("chinese", 7, "vol1", ("tongbian",), "第三单元", ("从百草园到三味书屋", "再塑生命的人", "论语十二章")),
    ("chinese", 8, "vol1", ("tongbian",), "第三单元", ("三峡", "短文二篇", "与朱元思书", "唐诗五首")),
    ("chinese", 8, "vol1", ("tongbian",), "第二单元", ("藤野先生", "回忆我的母亲", "列夫·托尔斯泰", "美丽的颜色")),
    ("chinese", 8, "vol2", ("tongbian",), "第三单元", ("桃花源记", "小石潭记", "核舟记", "《诗经》二首")),
    ("chinese", 9, "vol1", ("tongbian",), "第一单元", ("沁园春·雪", "我爱这土地", "乡愁", "你是人间的四月天")),
    ("chinese", 9, "vol1", ("tongbian",), "第三单元", ("岳阳楼记", "醉翁亭记", "湖心亭看雪")),
    ("chinese", 10, "compulsory-1", ("tongbian",), "第一单元", ("沁园春·长沙", "立在地球边上放号", "百合花", "哦，香雪")),
    ("chinese", 10, "compulsory-1", ("tongbian",), "第三单元", ("短歌行", "归园田居（其一）", "梦游天姥吟留别", "念奴娇·赤壁怀古")),
    # 英语
    ("english", 3, "vol1", ("pep", "fltrp"), "Unit 1", ("Unit 1 Hello! Part A Let's talk", "Unit 1 Hello! Part B Let's learn")),
    ("english", 4, "vol1", ("pep",), "Unit 1", ("Unit 1 My classroom Part A Let's talk", "Unit 1 My classroom Part B Read and write")),
    ("english", 5, "vol1", ("pep",), "Unit 3", ("Unit 3 What would you like? Part A Let's talk", "Unit 3 What would you like? Part B Let's learn")),
    ("english", 6, "vol1", ("pep",), "Unit 2", ("Unit 2 Ways to go to school Part A Let's talk", "Unit 2 Ways to go to school Part B Read and write")),
    ("english", 7, "vol1", ("pep", "fltrp"), "Unit 1", ("Unit 1 My name's Gina. Section A", "Unit 1 My name's Gina. Section B")),
    ("english", 8, "vol1", ("pep",), "Unit 3", ("Unit 3 I'm more outgoing than my sister. Section A", "Unit 3 I'm more outgoing than my sister. Section B")),
    ("english", 9, "vol1", ("pep",), "Unit 1", ("Unit 1 How can we become good learners? Section A", "Unit 1 How can we become good learners? Section B")),
    # 物理 化学 生物
    ("physics", 8, "vol1", ("pep", "bnu", "sk"), "第一章 机械运动", ("长度和时间的测量", "运动的描述", "运动的快慢", "测量平均速度")),
    ("physics", 8, "vol1", ("pep", "sk"), "第二章 声现象", ("声音的产生与传播", "声音的特性", "声的利用", "噪声的危害和控制")),
    ("physics", 8, "vol1", ("pep",), "第四章 光现象", ("光的直线传播", "光的反射", "平面镜成像", "光的折射", "光的色散")),
    ("physics", 8, "vol2", ("pep", "bnu"), "第八章 运动和力", ("牛顿第一定律", "二力平衡", "摩擦力")),
    ("physics", 8, "vol2", ("pep",), "第十章 浮力", ("浮力", "阿基米德原理", "物体的浮沉条件及应用")),
    ("physics", 9, "single", ("pep", "sk"), "第十七章 欧姆定律", ("电流与电压和电阻的关系", "欧姆定律", "电阻的测量")),
    ("physics", 9, "single", ("pep",), "第十八章 电功率", ("电能 电功", "电功率", "测量小灯泡的电功率", "焦耳定律")),
    ("chemistry", 9, "vol1", ("pep", "hujiao"), "第一单元 走进化学世界", ("物质的变化和性质", "化学是一门以实验为基础的科学", "走进化学实验室")),
    ("chemistry", 9, "vol1", ("pep",), "第三单元 物质构成的奥秘", ("分子和原子", "原子的结构", "元素")),
    ("chemistry", 9, "vol1", ("pep", "hujiao"), "第五单元 化学方程式", ("质量守恒定律", "如何正确书写化学方程式", "利用化学方程式的简单计算")),
    ("biology", 7, "vol1", ("pep", "bnu"), "第二单元 生物体的结构层次", ("练习使用显微镜", "植物细胞", "动物细胞", "细胞的生活", "细胞通过分裂产生新细胞")),
    ("biology", 7, "vol1", ("pep",), "第三单元 生物圈中的绿色植物", ("种子的萌发", "植株的生长", "光合作用吸收二氧化碳释放氧气")),
    ("biology", 8, "vol1", ("pep",), "第五单元 生物圈中的其他生物", ("腔肠动物和扁形动物", "鱼", "鸟", "细菌", "真菌")),
    # 历史 地理 道德与法治
    ("history", 7, "vol1", ("tongbian",), "第三单元 秦汉时期", ("秦统一中国", "秦末农民大起义", "西汉建立和“文景之治”", "沟通中外文明的“丝绸之路”")),
    ("history", 8, "vol1", ("tongbian",), "第三单元 资产阶级民主革命与中华民国的建立", ("辛亥革命", "中华民国的创建", "北洋政府的黑暗统治")),
    ("history", 8, "vol2", ("tongbian",), "第一单元 中华人民共和国的成立和巩固", ("中华人民共和国成立", "抗美援朝", "土地改革")),
    ("geography", 7, "vol1", ("pep", "xj"), "第一章 地球和地图", ("地球和地球仪", "地球的运动", "地图的阅读")),
    ("geography", 8, "vol1", ("pep", "xj"), "第二章 中国的自然环境", ("地势和地形", "气候", "河流", "自然灾害")),
    ("ethics-law", 7, "vol1", ("tongbian",), "第一单元 成长的节拍", ("中学序曲", "学习伴成长", "认识自己")),
    ("ethics-law", 8, "vol1", ("tongbian",), "第二单元 遵守社会规则", ("社会生活离不开规则", "遵守规则", "以礼待人", "诚实守信")),
    # 科学 音乐 美术
    ("science", 3, "vol1", ("jk", "sujiao"), "水", ("水到哪里去了", "水沸腾了", "水结冰了", "冰融化了")),
    ("science", 4, "vol1", ("jk",), "声音", ("听听声音", "声音是怎样产生的", "声音是怎样传播的")),
    ("science", 5, "vol1", ("jk", "sujiao"), "地球表面的变化", ("地球的表面", "地球的结构", "火山喷发的成因及作用")),
    ("music", 4, "vol1", ("ry",), "第一课 美丽的草原", ("美丽的草原", "草原放牧")),
    ("fine-arts", 5, "vol1", ("rm",), "造型·表现", ("色彩的对比", "色彩的和谐", "漂亮的瓶子")),
]

# The same title in several grades of one subject and edition (grade hard negatives).
SAME_TITLE_GRADES: list[tuple[str, str, str, tuple[int, ...]]] = [
    ("chinese", "tongbian", "语文园地一", (1, 2, 3, 4, 5, 6)),
    ("chinese", "tongbian", "快乐读书吧", (1, 2, 3, 4, 5, 6)),
    ("chinese", "tongbian", "口语交际", (2, 3, 4)),
    ("chinese", "tongbian", "习作：我的植物朋友", (3, 4)),
    ("math", "pep", "数学广角", (2, 3, 4, 5, 6)),
    ("math", "pep", "总复习", (1, 2, 3, 4, 5, 6)),
    ("math", "pep", "观察物体", (2, 4, 5)),
    ("english", "pep", "Recycle 1", (3, 4, 5, 6)),
    ("chinese", "tongbian", "名著导读", (7, 8, 9)),
]

# The same title in several subjects of one grade (subject hard negatives).
SAME_TITLE_SUBJECTS: list[tuple[int, str, tuple[str, ...]]] = [
    (8, "期末复习课", ("math", "physics", "english", "biology")),
    (9, "期末复习课", ("math", "physics", "chemistry", "english")),
    (7, "单元复习课", ("math", "english", "biology", "geography")),
    (6, "复习课", ("math", "english", "science")),
    (5, "复习课", ("math", "english")),
    (8, "期中复习", ("math", "physics", "english", "geography")),
]

# fmt: on
SUBJECT_EDITION = {
    "math": "pep",
    "physics": "pep",
    "english": "pep",
    "biology": "pep",
    "chemistry": "pep",
    "geography": "pep",
    "science": "jk",
    "chinese": "tongbian",
}

# How platforms spell, decorate and describe: the generator's raw material.
# fmt: off
EDITION_SPELLINGS = {
    "pep": ("人教版", "人教版", "新人教版", "人教"), "bnu": ("北师大版", "北师版"), "hujiao": ("沪教版",),
    "sujiao": ("苏教版",), "tongbian": ("统编版", "部编版", "部编版"), "fltrp": ("外研版",), "sk": ("苏科版",),
    "xj": ("湘教版",), "jk": ("教科版",), "ry": ("人音版",), "rm": ("人美版",), "pep-a": ("人教A版",),
    "pep-b": ("人教B版",),
}
GRADE_SPELLINGS = {
    1: ("一年级",), 2: ("二年级",), 3: ("三年级",), 4: ("四年级",), 5: ("五年级",), 6: ("六年级",),
    7: ("七年级", "初一"), 8: ("八年级", "初二"), 9: ("九年级", "初三"), 10: ("高一", "高中一年级"),
}
VOLUME_SPELLINGS = {"vol1": ("上册", "上学期"), "vol2": ("下册",), "single": ("全一册",), "compulsory-1": ("必修第一册", "必修1")}
TYPE_WEIGHTS = {"micro-lecture": 30, "courseware": 25, "lesson-plan": 15, "recorded-lesson": 20, "task-sheet": 5, "exercise": 5}
TYPE_DECOR = {
    "micro-lecture": ("（微课）", "【微课】", " 微课"), "courseware": (" 课件", "PPT课件", "（课件）", " ppt"),
    "lesson-plan": (" 教学设计", "教案", "（教学设计）"), "task-sheet": (" 导学案", " 学习任务单"),
    "recorded-lesson": (" 课堂实录", "（课堂实录）"), "exercise": (" 课后练习", "（同步练习）"),
}
TYPE_OPENERS = {
    "micro-lecture": "本微课聚焦一个核心问题，", "courseware": "本课件配有动画演示，", "lesson-plan": "本教学设计含目标与过程，",
    "task-sheet": "本任务单用于课前自学，", "recorded-lesson": "本节课为课堂实录，", "exercise": "本练习分层设计，",
}
HOUR_FOCUS = ("侧重概念的形成与理解", "侧重方法的运用与练习", "侧重知识的综合与拓展")
HIGHLIGHTS = (
    "通过创设生活情境激发学习兴趣", "借助动手操作引导学生自主探究", "以问题链推动学生深度思考",
    "运用信息技术突破教学难点", "注重小组合作与交流表达", "渗透数形结合的思想方法",
    "关注学生的核心素养发展", "设计分层练习满足不同学生的需要", "通过对比辨析加深理解",
    "利用微视频帮助学生课后复习", "结合传统文化开展跨学科学习", "以任务驱动组织学习活动",
    "重视朗读指导和语言积累", "引导学生在观察中发现规律", "注重实验探究与证据意识",
)
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = ("芳", "静", "丽", "敏", "伟", "强", "磊", "洋", "娟", "艳", "军", "杰", "霞", "平", "红", "海燕", "晓明", "建华", "雪梅", "志刚")
SCHOOLS = ("文三街小学", "学军小学", "天长小学", "实验中学", "外国语学校", "第一中学", "育才中学", "青蓝小学", "东城中学", "南山实验学校")
MASTERS = (("smartedu", "national", "basic.smartedu.cn/syncClassroom/classActivity?activityId={id}"),)
PLATFORMS = {
    "provincial": (("zjer", "zjer.cn/res/{id}.html"), ("gdjy", "res.gdedu.gov.cn/view/{id}"), ("jsjy", "jsjyzy.cn/resource/{id}/")),
    "municipal": (("hzedu", "hzjy.hangzhou.gov.cn/lesson/{id}"), ("szedu", "res.szedu.cn/r/{id}"), ("njedu", "njer.nje.cn/detail?rid={id}")),
    "district": (("xhedu", "xhedu.xihu.gov.cn/ke/{id}.shtml"), ("nsedu", "nsjy.szns.gov.cn/res?id={id}"), ("gledu", "glq.njedu.cn/kc/{id}")),
    "school": (("xuejun", "www.xjxx.hz.cn/kc/{id}"), ("whsy", "www.whsy.cn/ziyuan/{id}")),
}
COPY_LEVELS = ("provincial", "municipal", "municipal", "district", "district", "school")
# fmt: on
