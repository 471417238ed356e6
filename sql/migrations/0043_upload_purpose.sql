-- What an upload is for: works to import (`/imports`) or commune boundaries
-- (`/admin/communes`, issue 24 §1). Each page runs only its own uploads, and a commune
-- upload is claimed (deleted) in the statement that lets it be written, so it is written once.
ALTER TABLE import_upload
    ADD COLUMN purpose text NOT NULL DEFAULT 'works'
        CONSTRAINT import_upload_purpose_known CHECK (purpose IN ('works', 'communes'));
