"""The catalog half of the schema lint (see :mod:`qms.lint`): the same rules asked of the catalog of a
migrated database, which is the truth (it also sees what dynamic SQL created)."""

from __future__ import annotations

from qms.lint_rules import GLOBAL_MARKER, SCOPED_SCHEMAS, TENANT_COLUMN, Finding, TableFacts, rules

_TABLES_SQL = """
select c.oid, n.nspname || '.' || c.relname,
       exists (select 1 from pg_attribute a
               where a.attrelid = c.oid and a.attname = %(col)s and a.attnum > 0 and not a.attisdropped),
       c.relrowsecurity, c.relforcerowsecurity,
       (select count(*) from pg_policy p where p.polrelid = c.oid)::int,
       coalesce(d.description like %(marker)s, false)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_description d on d.objoid = c.oid and d.classoid = 'pg_class'::regclass and d.objsubid = 0
where c.relkind in ('r', 'p') and n.nspname = any(%(schemas)s)
order by 2
"""

# Keys: constraints (p, u, f) and unique indexes that back no constraint. Columns in key order;
# an expression element (attnum 0) shows as '(expression)'.
_KEYS_SQL = """
select con.conrelid, case con.contype when 'p' then 'primary' when 'u' then 'unique' else 'foreign' end,
       array(select coalesce(a.attname, '(expression)') from unnest(con.conkey) with ordinality k(attnum, i)
             left join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.i),
       (select rn.nspname || '.' || r.relname from pg_class r join pg_namespace rn on rn.oid = r.relnamespace
        where con.contype = 'f' and r.oid = con.confrelid)
from pg_constraint con
where con.contype in ('p', 'u', 'f') and con.conrelid = any(%(oids)s)
union all
select i.indrelid, 'unique',
       array(select coalesce(a.attname, '(expression)')
             from unnest(i.indkey::int2[]) with ordinality k(attnum, n)
             left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum and k.attnum > 0
             where k.n <= i.indnkeyatts order by k.n),
       null
from pg_index i
where i.indisunique and i.indrelid = any(%(oids)s)
  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.contype in ('p', 'u'))
"""

_DEFINER_SQL = """
select p.oid::regprocedure::text
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where p.prosecdef
  and n.nspname not in ('pg_catalog', 'information_schema')
  and not exists (select 1 from pg_depend d
                  where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  and not exists (select 1 from unnest(p.proconfig) cfg where cfg like 'search_path=%%')
order by 1
"""


def lint_catalog(url: str) -> list[Finding]:
    """Check the catalog of a migrated database."""
    import psycopg

    findings: list[Finding] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            _TABLES_SQL, {"col": TENANT_COLUMN, "marker": GLOBAL_MARKER + "%", "schemas": list(SCOPED_SCHEMAS)}
        ).fetchall()
        oids = [row[0] for row in tables]
        keys: dict[int, list[tuple[str, tuple[str, ...], str | None]]] = {}
        for relid, kind, columns, ref in conn.execute(_KEYS_SQL, {"oids": oids}).fetchall():
            keys.setdefault(relid, []).append((kind, tuple(columns), ref))
        global_tables = {row[1] for row in tables if row[6]}
        for oid, name, has_tenant, enabled, forced, policies, is_global in tables:
            facts = TableFacts(name, has_tenant, enabled, forced, policies, is_global, keys.get(oid, []))
            findings.extend(rules(facts, "catalog", global_tables))
        for (proc,) in conn.execute(_DEFINER_SQL).fetchall():
            findings.append(
                Finding(
                    "catalog", "DEFINER_WITHOUT_SEARCH_PATH", proc, "security definer function without set search_path"
                )
            )
    return sorted(findings)
