-- The demo's partner profiles: the agencies DOMAIN.md names, each cut to what a partner
-- of that kind would plausibly be cleared for. Made up, like all demo data.
INSERT INTO export_profile (name, title, kinds, ceiling, fields, coarse_kinds, coarsening, grid_m)
VALUES
 ('bien-phong', 'Bộ Chỉ huy Bộ đội Biên phòng tỉnh',
  '{border_marker,militia_post_combat_work,militia_residential_point,border_guard_combat_work,mobility_road}',
  'confidential',
  '{code,name,kind,layer,status,percent,district,district_code,commune,country,phase,planned_start,planned_finish,actual_start,actual_finish,updated_at}',
  '{}', 'none', NULL),
 ('cong-an', 'Công an tỉnh',
  '{warehouse,workshop,barracks,border_marker}',
  'internal',
  '{code,name,kind,status,district}',
  '{warehouse}', 'grid', 1000),
 ('tn-mt', 'Sở Tài nguyên và Môi trường',
  '{defence_land,remains_search_zone}',
  'internal',
  '{code,name,kind,status,district,commune,area_concluded_ha,land_area_m2,land_five_year,land_current_use,land_planned_use,land_legal_status,land_decision_no,land_decision_date}',
  '{}', 'none', NULL),
 ('ubnd-huyen', 'Ủy ban nhân dân các huyện, thị xã, thành phố',
  '{district_command_post,provincial_command_post,strongpoint_cluster,logistics_core_work,militia_post_combat_work,militia_residential_point,border_guard_combat_work,warehouse,workshop,mobility_road,barracks,remains_search_zone,gratitude_house,defence_land,border_marker}',
  'public',
  '{code,name,kind,status,percent,district,commune,estimate_vnd,allocated_vnd,disbursed_vnd,settled_vnd}',
  '{district_command_post,provincial_command_post,strongpoint_cluster,warehouse}', 'district', NULL),
 ('qk7', 'Bộ Tư lệnh Quân khu 7',
  '{district_command_post,provincial_command_post,strongpoint_cluster,logistics_core_work,militia_post_combat_work,militia_residential_point,border_guard_combat_work,warehouse,workshop,mobility_road,barracks,remains_search_zone,gratitude_house,defence_land,border_marker}',
  'secret',
  '{code,name,name_en,kind,layer,status,percent,district,district_code,commune,country,phase,programme,responsible_unit,classification,planned_start,planned_finish,actual_start,actual_finish,updated_at,version,estimate_vnd,allocated_vnd,disbursed_vnd,settled_vnd,remains_expected,remains_found,area_concluded_ha}',
  '{}', 'none', NULL)
ON CONFLICT (name) DO NOTHING;
