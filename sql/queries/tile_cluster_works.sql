    -- The works of tile_clusters.sql as they stand: each one's point (EPSG:3857) and
    -- status, found through its layer's site_point_<layer>_idx.
    SELECT s.point_3857 AS p,
           s.status::text AS status
      FROM site s
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
     WHERE s.layer_group = $4
       AND s.point_3857 && b.env
       AND s.classification <= $5::text::classification
       AND ($6::text IS NULL OR coalesce(d.code, a.code) = $6::text)
       AND ($7::text IS NULL OR s.kind = $7::text)
       AND ($8::text IS NULL OR s.status::text = $8::text)
       AND ($9::int IS NULL OR s.phase = $9::int)
       AND ($10::text IS NULL OR s.programme::text = $10::text)
