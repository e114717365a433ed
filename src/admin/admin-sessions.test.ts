import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdminSessions, csrfTokenMatches } from './admin-sessions.ts';

const token = { id: 'adm_a', name: 'ops', role: 'write' as const };

describe('AdminSessions', () => {
  it('opens sessions with unguessable ids and CSRF tokens, and finds them', () => {
    const sessions = new AdminSessions({ lifetime: 3_600_000, idleTimeout: 600_000 });
    const first = sessions.open(token, 0);
    const second = sessions.open(token, 0);
    assert.match(first.id, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(first.id, second.id);
    assert.notEqual(first.csrfToken, first.id);
    assert.equal(sessions.find(first.id, 1000)?.tokenId, 'adm_a');
    assert.equal(sessions.find('nope', 1000), null);
  });

  it('ends a session after its idle timeout, and after its lifetime however active', () => {
    const sessions = new AdminSessions({ lifetime: 3_600_000, idleTimeout: 600_000 });
    const idle = sessions.open(token, 0);
    assert.equal(sessions.find(idle.id, 600_000), null);
    const busy = sessions.open(token, 0);
    for (let t = 500_000; t < 3_600_000; t += 500_000) assert.ok(sessions.find(busy.id, t), `alive at ${t}`);
    assert.equal(sessions.find(busy.id, 3_600_000), null);
  });

  it('closes a session on logout', () => {
    const sessions = new AdminSessions({ lifetime: 3_600_000, idleTimeout: 600_000 });
    const session = sessions.open(token, 0);
    sessions.close(session.id);
    assert.equal(sessions.find(session.id, 1), null);
    assert.equal(sessions.size, 0);
  });

  it('says whether a session is live without touching it', () => {
    const sessions = new AdminSessions({ lifetime: 3_600_000, idleTimeout: 600_000 });
    const session = sessions.open(token, 0);
    assert.equal(sessions.isLive(session.id, 599_999), true);
    assert.equal(sessions.isLive(session.id, 599_999), true);
    assert.equal(sessions.isLive(session.id, 600_000), false, 'asking did not keep it from going idle');
    const other = sessions.open(token, 0);
    sessions.close(other.id);
    assert.equal(sessions.isLive(other.id, 1), false, 'logged out');
    assert.equal(sessions.isLive('nope', 1), false);
  });

  it('compares CSRF tokens exactly', () => {
    const session = new AdminSessions({ lifetime: 1000, idleTimeout: 1000 }).open(token, 0);
    assert.equal(csrfTokenMatches(session, session.csrfToken), true);
    assert.equal(csrfTokenMatches(session, undefined), false);
    assert.equal(csrfTokenMatches(session, ''), false);
    assert.equal(csrfTokenMatches(session, session.csrfToken.slice(1)), false);
    assert.equal(csrfTokenMatches(session, `${session.csrfToken.slice(0, -1)}${session.csrfToken.endsWith('A') ? 'B' : 'A'}`), false);
  });
});
