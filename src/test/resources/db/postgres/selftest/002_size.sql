-- a column added later
ALTER TABLE selftest_things ADD COLUMN size INTEGER;
