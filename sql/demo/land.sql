-- The demo's defence land-use plan (issue 24 §2): every defence land work gets a made-up
-- plan record, the same for the same work every time. A parcel whose work is done is
-- already in its planned use; three in four have an approving decision.
INSERT INTO land_parcel (site_id, five_year, current_use, planned_use, legal_status,
                         decision_no, decision_date)
SELECT p.id, p.five_year,
       CASE WHEN p.done THEN p.planned_use
            ELSE (ARRAY['agriculture', 'forest', 'unused', 'other'])[1 + p.h % 4]::land_use END,
       p.planned_use,
       CASE WHEN p.done AND p.h % 3 > 0 THEN 'certified'
            ELSE (ARRAY['certified', 'in_progress', 'none'])[1 + (p.h / 7) % 3] END::land_legal_status,
       CASE WHEN p.h % 4 > 0 THEN (100 + p.h % 900)::text || '/QĐ-UBND' END,
       CASE WHEN p.h % 4 > 0 THEN date '2021-03-01' + (p.h % 1000) END
  FROM (SELECT s.id, abs(hashtext(s.code)) AS h,
               s.status IN ('completed', 'handed_over') AS done,
               CASE WHEN coalesce(s.planned_start, date '2021-01-01') < date '2026-01-01'
                    THEN '2021-2025' ELSE '2026-2030' END AS five_year,
               (ARRAY['defence_works', 'training', 'barracks', 'warehouse', 'border_post', 'command_post'])
                   [1 + abs(hashtext(s.code || 'p')) % 6]::land_use AS planned_use
          FROM site_all s WHERE s.kind = 'defence_land') p;
