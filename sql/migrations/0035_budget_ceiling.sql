-- The medium-term public investment plan as approved (kế hoạch đầu tư công trung hạn được
-- giao, issue 24 §5): per work, year and funding source, the ceiling a decision gives,
-- beside the annual lines. Dashboards compare it with the allocations and flag works
-- allocated above it. A ceiling counts from its decision's date (a dashboard as of an
-- earlier day does not compare with it).
CREATE TABLE budget_ceiling (
    site_id         bigint NOT NULL REFERENCES site_all (id) ON DELETE CASCADE,
    year            smallint NOT NULL
                    CONSTRAINT budget_ceiling_year_range CHECK (year BETWEEN 2017 AND 2035),
    source          funding_source NOT NULL,
    ceiling_vnd     bigint NOT NULL
                    CONSTRAINT budget_ceiling_not_negative CHECK (ceiling_vnd >= 0),
    decision_no     text NOT NULL
                    CONSTRAINT budget_ceiling_decision_given
                    CHECK (btrim(decision_no) <> '' AND length(decision_no) <= 100),
    decision_date   date NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, year, source)
);

-- Dashboards are cached under the budget's versions: a ceiling written moves them as a
-- line does.
CREATE CONSTRAINT TRIGGER budget_ceiling_version
    AFTER INSERT OR UPDATE OR DELETE ON budget_ceiling
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION budget_line_changed();
