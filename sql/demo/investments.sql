-- The demo's investments without a place on the map (issue 24 §4), after the works: each
-- gets its category (chosen with its name by the generator, `demo_investment`) and, for
-- command automation, the command post it equips: a district command post of the district
-- its code names, the same one for the same item every time, or the province's.
INSERT INTO investment (site_id, category, command_post_id)
SELECT i.id, d.category,
       CASE WHEN i.kind = 'command_automation' THEN (
           SELECT p.id FROM site_all p
            WHERE CASE WHEN split_part(i.code, '-', 2) = 'TNH'
                       THEN p.kind = 'provincial_command_post'
                       ELSE p.kind = 'district_command_post'
                            AND split_part(p.code, '-', 2) = split_part(i.code, '-', 2) END
            ORDER BY abs(hashtext(i.code || p.code)), p.id LIMIT 1)
       END
  FROM demo_investment d JOIN site_all i USING (code);
