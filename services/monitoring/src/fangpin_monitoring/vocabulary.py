"""The plan's standard lists (DOMAIN.md core vocabulary). Values are what county staff type."""

HOUSEHOLD_CATEGORIES = ("脱贫户", "监测户", "一般农户")
MONITORING_SUBCATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RISK_TYPES = (
    "因病", "因残", "因学", "因灾", "因意外事故", "因产业项目失败", "因务工就业不稳",
    "缺劳动力", "住房安全", "饮水安全", "其他",
)
LABOUR_CAPACITIES = ("普通劳动力", "弱劳力", "半劳力", "无劳动力")
SEXES = ("男", "女")
RELATIONS = ("户主", "配偶", "之子", "之女", "儿媳", "女婿", "孙子", "孙女", "父亲", "母亲",
             "兄弟姐妹", "祖父母", "其他")
HEALTH_STATES = ("健康", "长期慢性病", "患有大病", "残疾")
