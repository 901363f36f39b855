CREATE TABLE selftest_things (name VARCHAR(20) NOT NULL);
