-- Issue 21: a site's SDL is its capabilities (what it lacks of the hub's schema). It is taken at
-- registration and refreshed at health checks; sdl_seen says when the stored one was last served.
ALTER TABLE site ADD COLUMN IF NOT EXISTS sdl_seen timestamptz;
UPDATE site SET sdl_seen = last_seen WHERE sdl IS NOT NULL AND sdl_seen IS NULL;
