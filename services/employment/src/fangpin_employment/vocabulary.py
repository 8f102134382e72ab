"""The plan's standard lists for employment (annex 3). Values are what county staff type."""

HOUSEHOLD_CATEGORIES = ("脱贫户", "监测户", "一般农户")
# Households whose labourers the plan counts as 脱贫劳动力 ("脱贫户劳动力（含监测户劳动力）").
POVERTY_CATEGORIES = ("脱贫户", "监测户")
LABOUR_CAPACITIES = ("普通劳动力", "弱劳力", "半劳力", "无劳动力")
WITH_CAPACITY = ("普通劳动力", "弱劳力", "半劳力")
WEAK_OR_HALF = ("弱劳力", "半劳力")
SEXES = ("男", "女")

# Where a labourer worked in the quarter (E4): in the county, elsewhere in Guangxi, out of
# the region (the plan's 跨省 / 区外).
IN_COUNTY, IN_REGION, OUT_OF_PROVINCE = "县内", "区内县外", "区外"
LOCATION_TYPES = (IN_COUNTY, IN_REGION, OUT_OF_PROVINCE)
AWAY_FROM_COUNTY = (IN_REGION, OUT_OF_PROVINCE)

# Key groups (E5), as the plan names them.
KG_MONITORED = "监测对象"
KG_RETURNEE = "返乡回流人员"
KG_POST_LEAVER = "公益性岗位退出人员"
KG_COLLEGE = "脱贫户高校未就业毕业生"
KG_YULU = "“雨露计划”未就业毕业生"
KEY_GROUPS = (KG_MONITORED, KG_RETURNEE, KG_POST_LEAVER, KG_COLLEGE, KG_YULU)
GRADUATE_GROUPS = (KG_COLLEGE, KG_YULU)

# Outcomes of a key-group member's employment assistance. The first ones are employment.
EMPLOYED_OUTCOMES = ("外出务工", "县内就业", "就业帮扶车间就业", "公益性岗位安置", "自主创业",
                     "灵活就业")
OTHER_OUTCOMES = ("参加技能培训", "继续升学", "暂无就业意愿", "丧失劳动能力", "其他")
OUTCOMES = EMPLOYED_OUTCOMES + OTHER_OUTCOMES

# Why a labourer is not in transfer employment (the form's 未转移就业原因).
NOT_TRANSFERRED_REASONS = ("照顾家庭", "身体原因", "缺乏技能", "无就业意愿", "在家务农",
                           "返乡创业", "待业求职", "其他")

# Public-welfare posts (E2) and workshops (E3).
POST_KINDS = ("乡村公益性岗位", "乡村建设公益性岗位", "其他公益性岗位")
WORKSHOP_CLASSES = ("升级", "扶持", "新建", "调整")
WORKSHOP_MODELS = ("企业+就业帮扶车间", "联合体+就业帮扶车间", "其他")

# Jobs (E5, E11).
POSTING_KINDS = ("enterprise", "gig", "internship")
POSTING_KIND_NAMES = {"enterprise": "企业岗位", "gig": "零工岗位", "internship": "就业见习岗位"}
