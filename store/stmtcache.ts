/**
 * Prepared statements by SQL text, for queries whose text is built from a bounded set of shapes
 * (the findings list's filters) or run on every request (token and session checks): preparing
 * costs more than running most of them.
 */
import type Database from 'better-sqlite3';

export class StatementCache {
  private readonly stmts = new Map<string, Database.Statement>();

  /** `db` is read on each miss: the cache follows the store's handle. */
  constructor(
    private readonly db: () => Database.Database,
    private readonly max = 512,
  ) {}

  get(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      // A bound, not an LRU: the shapes are few, and a full cache only means preparing again.
      if (this.stmts.size >= this.max) this.stmts.clear();
      st = this.db().prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }
}
