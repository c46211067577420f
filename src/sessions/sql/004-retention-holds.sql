-- Migration 004: retention holds (src/sessions/retention-holds.ts). A snapshot or fork puts
-- `hierarchy.hold.<holder>: [[a, u], …]` in the metadata of the session whose log it shows; the
-- trim in commit_turn keeps entries a hold covers (below kept_from: stored, not served) and drops
-- the rest. clear_session drops held entries and the holds with them, so a hold never claims
-- entries that are gone.

-- The cursor ranges (a, u] the holds in `p_metadata` cover; malformed holds are ignored.
CREATE FUNCTION __SCHEMA__.held_ranges(p_metadata json, OUT a bigint, OUT u bigint) RETURNS SETOF record
LANGUAGE sql IMMUTABLE AS $$
  SELECT (r->>0)::bigint, (r->>1)::bigint
  FROM json_each(p_metadata) h,
       json_array_elements(CASE WHEN json_typeof(h.value) = 'array' THEN h.value ELSE '[]'::json END) r
  WHERE h.key LIKE 'hierarchy.hold.%' AND json_typeof(r) = 'array'
    AND COALESCE(r->>0, '') ~ '^[0-9]{1,18}$' AND COALESCE(r->>1, '') ~ '^[0-9]{1,18}$'
$$;

CREATE OR REPLACE FUNCTION __SCHEMA__.commit_turn(
  p_id bytea, p_ts bigint, p_keep integer, p_keep_ids integer, p_inbound bytea, p_fence bigint,
  p_roles text[], p_contents bytea[], p_metadata json[],
  OUT code integer, OUT value bigint)
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
  n integer := cardinality(p_roles);
  v_first bigint;
  v_last bigint;
  new_kept_from bigint;
  earlier bigint;
BEGIN
  s := __SCHEMA__.lock_session(p_id);
  -- Dedupe first: a redelivery is answered with the cursor it already got, whatever its fence.
  IF p_inbound IS NOT NULL THEN
    SELECT i.first_cursor INTO earlier FROM __SCHEMA__.inbound_ids i WHERE i.sid = s.sid AND i.inbound_id = p_inbound;
    IF FOUND THEN code := -1; value := earlier; RETURN; END IF;
  END IF;
  IF p_fence IS NOT NULL AND p_fence < s.fence THEN
    code := -2; value := s.fence; RETURN;
  END IF;

  v_first := s.last_cursor + 1;
  v_last := s.last_cursor + n;
  new_kept_from := GREATEST(s.kept_from, v_last - p_keep + 1);
  -- Entries the trim would drop at once are never written.
  INSERT INTO __SCHEMA__.entries (sid, cursor, ts, role, content, metadata)
    SELECT s.sid, v_first + x.o - 1, p_ts, x.r, x.c, x.m
    FROM unnest(p_roles, p_contents, p_metadata) WITH ORDINALITY AS x(r, c, m, o)
    WHERE v_first + x.o - 1 >= new_kept_from;
  -- Trim: drop what left the window unless a hold covers it; held entries no hold covers any
  -- more (a deleted snapshot or fork) go with this trim too.
  IF new_kept_from > s.kept_from THEN
    DELETE FROM __SCHEMA__.entries e WHERE e.sid = s.sid AND e.cursor < new_kept_from
      AND NOT EXISTS (SELECT 1 FROM __SCHEMA__.held_ranges(s.metadata) h WHERE e.cursor > h.a AND e.cursor <= h.u);
  END IF;

  IF p_inbound IS NOT NULL THEN
    INSERT INTO __SCHEMA__.inbound_ids (sid, inbound_id, first_cursor) VALUES (s.sid, p_inbound, v_first);
    -- Remember the newest p_keep_ids ids; trimmed every 128 cursors so a commit rarely pays.
    IF (v_first - 1) / 128 <> v_last / 128 THEN
      DELETE FROM __SCHEMA__.inbound_ids i WHERE i.sid = s.sid AND i.first_cursor < (
        SELECT k.first_cursor FROM __SCHEMA__.inbound_ids k WHERE k.sid = s.sid
        ORDER BY k.first_cursor DESC OFFSET p_keep_ids - 1 LIMIT 1);
    END IF;
  END IF;

  UPDATE __SCHEMA__.sessions SET
    last_cursor = v_last,
    kept_from = new_kept_from,
    fence = GREATEST(fence, COALESCE(p_fence, 0)),
    created_at = COALESCE(created_at, p_ts),
    updated_at = p_ts
  WHERE sid = s.sid;
  code := 0; value := v_first;
END $$;

-- Drop a session's messages, held ones included, and the holds on them; cursor, fence, other
-- metadata and inbound ids stay. Returns 0 cleared, -3 no such session.
CREATE OR REPLACE FUNCTION __SCHEMA__.clear_session(p_id bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
BEGIN
  SELECT * INTO s FROM __SCHEMA__.sessions WHERE id = p_id AND created_at IS NOT NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN -3; END IF;
  DELETE FROM __SCHEMA__.entries WHERE sid = s.sid;
  UPDATE __SCHEMA__.sessions SET kept_from = last_cursor + 1,
    metadata = COALESCE((SELECT json_object_agg(m.key, m.value) FROM json_each(s.metadata) m WHERE m.key NOT LIKE 'hierarchy.hold.%'), '{}'::json)
  WHERE sid = s.sid;
  RETURN 0;
END $$;
