    -- The works of tile_clusters.sql as they stand: each one's point and status.
    SELECT CASE WHEN s.geom_family = 'point' THEN s.geom ELSE ST_PointOnSurface(s.geom) END AS p,
           s.status::text AS status
      FROM site s
      JOIN site_kind k ON k.code = s.kind
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
     WHERE k.layer_group = $4
       AND s.classification <= $5::text::classification
       AND s.geom && b.env4326
       AND ($6::text IS NULL OR coalesce(d.code, a.code) = $6::text)
       AND ($7::text IS NULL OR s.kind = $7::text)
       AND ($8::text IS NULL OR s.status::text = $8::text)
       AND ($9::int IS NULL OR s.phase = $9::int)
