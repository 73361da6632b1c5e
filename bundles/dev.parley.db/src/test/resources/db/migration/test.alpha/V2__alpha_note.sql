ALTER TABLE alpha_items ADD COLUMN note TEXT;
