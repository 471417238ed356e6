-- The demo's investments without a place on the map (issue 24 §4), after the works: each
-- gets its category (chosen with its name by the generator, `demo_investment`) and, for
-- command automation, the command post it equips: a district command post of the district
-- its code names, the same one for the same item every time, or the province's (one
-- classified no higher than the item).
WITH posts AS MATERIALIZED (
    SELECT p.id, p.code, p.classification,
           CASE WHEN p.kind = 'provincial_command_post' THEN 'TNH' ELSE split_part(p.code, '-', 2) END AS area
      FROM site_all p
     WHERE p.kind IN ('district_command_post', 'provincial_command_post')
)
INSERT INTO investment (site_id, category, command_post_id)
SELECT i.id, d.category,
       CASE WHEN i.kind = 'command_automation' THEN (
           SELECT p.id FROM posts p
            WHERE p.area = split_part(i.code, '-', 2) AND p.classification <= i.classification
            ORDER BY abs(hashtext(i.code || p.code)), p.id LIMIT 1)
       END
  FROM demo_investment d JOIN site_all i USING (code);
