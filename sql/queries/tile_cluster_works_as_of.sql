    -- The works of tile_clusters.sql as they stood before $11 (a timestamptz), as
    -- tile_sites_as_of.sql rebuilds them: each one's point (EPSG:3857) and status then.
    SELECT s.point_3857 AS p,
           coalesce(h.new_status::text, 'planned') AS status
      FROM site_all s
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
      LEFT JOIN LATERAL (
            SELECT ph.new_status
              FROM progress_history ph
             WHERE ph.site_id = s.id AND ph.recorded_at < $11::timestamptz
             ORDER BY ph.recorded_at DESC, ph.id DESC
             LIMIT 1) h ON true
     WHERE s.layer_group = $4
       AND s.classification <= $5::text::classification
       AND s.created_at < $11::timestamptz
       AND (s.deleted_at IS NULL OR s.deleted_at >= $11::timestamptz)
       AND s.geom && b.env4326
       AND ($6::text IS NULL OR coalesce(d.code, a.code) = $6::text)
       AND ($7::text IS NULL OR s.kind = $7::text)
       AND ($8::text IS NULL OR coalesce(h.new_status::text, 'planned') = $8::text)
       AND ($9::int IS NULL OR s.phase = $9::int)
       AND ($10::text IS NULL OR s.programme::text = $10::text)
