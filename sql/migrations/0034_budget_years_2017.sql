-- The 2017–2020 scheme's money is entered in its own years (issue 24 §3: its "tổng kết"
-- counts what was estimated, allocated, disbursed and settled): budget years from 2017.
ALTER TABLE budget_line DROP CONSTRAINT budget_line_year_range;
ALTER TABLE budget_line ADD CONSTRAINT budget_line_year_range CHECK (year BETWEEN 2017 AND 2035);
