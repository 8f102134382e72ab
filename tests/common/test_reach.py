"""A token's area as a SQL condition agrees with `can_reach` row by row."""

import sqlalchemy as sa

from fangpin_common.auth import Principal, within_reach

AREAS = sa.table("areas", sa.column("township"), sa.column("village"))
ROWS = [("450224103", "板榄村"), ("450224103", "新村"), ("450224100", "板榄村"),
        ("450224100", "城东村")]


def test_within_reach_selects_what_can_reach_allows():
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE areas (township TEXT, village TEXT)"))
        conn.execute(sa.text("INSERT INTO areas VALUES (:t, :v)"),
                     [{"t": t, "v": v} for t, v in ROWS])
        for principal in (Principal(sub="c", role="county"),
                          Principal(sub="p", role="platform"),
                          Principal(sub="t", role="township", township="450224103"),
                          Principal(sub="v", role="village", township="450224103",
                                    village="板榄村"),
                          Principal(sub="v", role="village", village="板榄村")):
            query = within_reach(sa.select(AREAS.c.township, AREAS.c.village), principal,
                                 AREAS.c.township, AREAS.c.village)
            seen = set(conn.execute(query).all())
            assert seen == {row for row in ROWS if principal.can_reach(*row)}, principal.role
