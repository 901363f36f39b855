-- The attempts of a request that routing let try more than one target or more than once: a JSON array of
-- {provider, model, status, error, duration_ms}; NULL for a request of one attempt (see dev.skiff.routing.Attempt).
ALTER TABLE usage_requests ADD COLUMN attempt_log TEXT;
