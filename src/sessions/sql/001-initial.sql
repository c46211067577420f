-- Migration 001: the session log (PostgresSessionStore). `__SCHEMA__` is replaced by the
-- store's quoted schema name; the runner (postgres-migrations.ts) applies this once per schema,
-- under an advisory lock, in one transaction with its row in `schema_migrations`.
--
-- Every caller-supplied string that may hold any character (session ids, inbound ids, message
-- content) is stored as UTF-8 `bytea`: Postgres `text` cannot hold NUL, and hostile ids are
-- just data (T28). Metadata is `json` (not `jsonb`, which also refuses \u0000) written by the
-- store as JSON text. Read a message by hand with `convert_from(content, 'UTF8')`.

CREATE TABLE __SCHEMA__.sessions (
  sid         bigserial PRIMARY KEY,
  id          bytea  NOT NULL UNIQUE,
  -- NULL: not a session, only a fence tombstone (see delete_session) or a fence recorded by a
  -- lease before the first commit. Every read filters on created_at IS NOT NULL.
  created_at  bigint,
  updated_at  bigint,
  -- Cursor of the newest entry ever committed; entries kept are kept_from .. last_cursor,
  -- consecutive, so messageCount is last_cursor - kept_from + 1 without counting rows.
  last_cursor bigint NOT NULL DEFAULT 0,
  kept_from   bigint NOT NULL DEFAULT 1,
  -- Highest fence committed or recorded; commits below it are stale.
  fence       bigint NOT NULL DEFAULT 0,
  metadata    json   NOT NULL DEFAULT '{}'
);
CREATE INDEX sessions_by_activity ON __SCHEMA__.sessions (updated_at DESC, sid DESC) WHERE created_at IS NOT NULL;

CREATE TABLE __SCHEMA__.entries (
  sid      bigint NOT NULL REFERENCES __SCHEMA__.sessions (sid) ON DELETE CASCADE,
  cursor   bigint NOT NULL,
  ts       bigint NOT NULL,
  role     text   NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content  bytea  NOT NULL,
  metadata json,
  PRIMARY KEY (sid, cursor)
);

CREATE TABLE __SCHEMA__.inbound_ids (
  sid          bigint NOT NULL REFERENCES __SCHEMA__.sessions (sid) ON DELETE CASCADE,
  inbound_id   bytea  NOT NULL,
  first_cursor bigint NOT NULL,
  -- The dedupe backstop: even a commit that bypassed commit_turn's check cannot record an
  -- inbound id twice.
  PRIMARY KEY (sid, inbound_id)
);
CREATE INDEX inbound_ids_by_age ON __SCHEMA__.inbound_ids (sid, first_cursor);

-- Lock a session's row, creating it (as a non-session, created_at NULL) if it is new. Every
-- writer of a session goes through this lock, so a session's writes are serialized.
CREATE FUNCTION __SCHEMA__.lock_session(p_id bytea) RETURNS __SCHEMA__.sessions
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
BEGIN
  SELECT * INTO s FROM __SCHEMA__.sessions WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO __SCHEMA__.sessions (id) VALUES (p_id) ON CONFLICT (id) DO NOTHING;
    SELECT * INTO s FROM __SCHEMA__.sessions WHERE id = p_id FOR UPDATE;
  END IF;
  RETURN s;
END $$;

-- Commit one turn: dedupe, fence check, append, trim, advance the cursor. One statement, so one
-- transaction and one round trip.
--
-- Why cursors are allocated here, from the locked session row, and not from a sequence: a
-- reader polls `cursor > since` and then moves `since` to the highest cursor it saw. With a
-- global sequence, commit A could take cursor 5 and commit B cursor 6, B could commit first, a
-- reader would see 6 and move past 5 before A becomes visible: it would skip 5 forever. Here
-- B cannot read last_cursor until A's transaction ends (the row lock), so cursors become
-- visible in order and every snapshot holds a gap-free prefix of the session's log.
--
-- Returns (code, value), decoded by postgres-codes.ts:
--    0, first cursor          committed; cursors first .. first + n - 1
--   -1, earlier first cursor  duplicate inbound id; nothing appended
--   -2, highest fence         stale fence; nothing appended, inbound id not recorded
CREATE FUNCTION __SCHEMA__.commit_turn(
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
  IF new_kept_from > s.kept_from THEN
    DELETE FROM __SCHEMA__.entries e WHERE e.sid = s.sid AND e.cursor >= s.kept_from AND e.cursor < new_kept_from;
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

-- Drop a session's messages; cursor, fence, metadata and inbound ids stay.
-- Returns 0 cleared, -3 no such session.
CREATE FUNCTION __SCHEMA__.clear_session(p_id bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
BEGIN
  SELECT * INTO s FROM __SCHEMA__.sessions WHERE id = p_id AND created_at IS NOT NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN -3; END IF;
  DELETE FROM __SCHEMA__.entries WHERE sid = s.sid;
  UPDATE __SCHEMA__.sessions SET kept_from = last_cursor + 1 WHERE sid = s.sid;
  RETURN 0;
END $$;

-- Remove a session. Only a fence above 0 survives, in a tombstone row (created_at NULL):
-- fences never go down, or a worker that lost its lease before the delete could out-fence the
-- next holder. Returns 0 deleted, -3 no such session.
CREATE FUNCTION __SCHEMA__.delete_session(p_id bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  s __SCHEMA__.sessions;
BEGIN
  SELECT * INTO s FROM __SCHEMA__.sessions WHERE id = p_id AND created_at IS NOT NULL FOR UPDATE;
  IF NOT FOUND THEN RETURN -3; END IF;
  IF s.fence > 0 THEN
    DELETE FROM __SCHEMA__.entries WHERE sid = s.sid;
    DELETE FROM __SCHEMA__.inbound_ids WHERE sid = s.sid;
    UPDATE __SCHEMA__.sessions SET created_at = NULL, updated_at = NULL, last_cursor = 0, kept_from = 1, metadata = '{}'
    WHERE sid = s.sid;
  ELSE
    DELETE FROM __SCHEMA__.sessions WHERE sid = s.sid;
  END IF;
  RETURN 0;
END $$;

-- Record a fence issued by a lease (the lease lives in Redis), so a holder that lost its lease
-- is rejected even before the new holder commits. Never lowers the fence; returns the highest.
CREATE FUNCTION __SCHEMA__.record_fence(p_id bytea, p_fence bigint) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO __SCHEMA__.sessions AS t (id, fence) VALUES (p_id, p_fence)
  ON CONFLICT (id) DO UPDATE SET fence = GREATEST(t.fence, EXCLUDED.fence)
  RETURNING fence;
$$;
