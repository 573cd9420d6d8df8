#!/usr/bin/env python3
"""Writes the seed corpora fuzz/seeds/<target>/ from the SQL of the golden and refusal
tests, plus hand-written hostile statements (HOSTILE below).

    python3 fuzz/gen_seeds.py      # rewrites fuzz/seeds/prepared and fuzz/seeds/unprepared

Every string literal of tests/golden/*.rs and tests/refusals.rs that starts like SQL and
is not a format string becomes a seed. `unprepared` seeds are the SQL text; `prepared`
seeds are one configuration byte (see fuzz_targets/prepared.rs) followed by the SQL:
prefix mode, tenant `1.4.`, bound strings inside the tenant, for each backend the
statement was written for, and once unprepared.
"""

import hashlib
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")

PG, MY, LITE = 0, 1, 2
ALL = (PG, MY, LITE)

SOURCES = {
    "tests/golden/shared.rs": ALL,
    "tests/golden/postgres.rs": (PG,),
    "tests/golden/mysql.rs": (MY,),
    "tests/golden/sqlite.rs": (LITE,),
    "tests/golden/support.rs": ALL,
    "tests/refusals.rs": ALL,
}

SQL_START = re.compile(
    r"^\s*(\(|SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE|VALUES|TABLE|CREATE|DROP|ALTER|"
    r"PRAGMA|SET|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|EXPLAIN|TRUNCATE|COPY|ATTACH|MERGE|LOCK|"
    r"SHOW|CALL|DO|FROM|SELEKT)\b",
    re.I,
)

# Statements meant to be hard on the rewriter (and on the checker).
HOSTILE = [
    # CTE names that differ from a table's only by case or quotes.
    'WITH "Invoice" AS (SELECT 1 AS id) SELECT * FROM invoice',
    "WITH Invoice AS (SELECT 1 AS id) SELECT * FROM invoice",
    'WITH invoice AS (SELECT 1 AS id) SELECT * FROM "INVOICE"',
    "WITH a AS (SELECT * FROM invoice), invoice AS (SELECT * FROM a) SELECT * FROM invoice",
    "WITH invoice AS (SELECT * FROM invoice WHERE id > 1) SELECT * FROM invoice",
    "WITH RECURSIVE r(n) AS (SELECT id FROM invoice UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "WITH x AS (DELETE FROM invoice RETURNING *) SELECT * FROM x",
    "WITH c AS (SELECT id FROM customer) UPDATE invoice SET number = 'x' WHERE customer_id IN (SELECT id FROM c)",
    # Column alias lists, aliases, schemas, quoting.
    "SELECT * FROM invoice AS i(id, data_key, x)",
    "SELECT * FROM customer AS c(tenant_key) WHERE c.id = 1",
    'SELECT * FROM "INVOICE" AS "I" JOIN invoice AS i ON "I".id = i.id',
    'SELECT * FROM invoice AS "i" WHERE "I".id = 1',
    "SELECT * FROM app.invoice, other.invoice",
    "SELECT * FROM `invoice` AS `Inv` WHERE `Inv`.`id` = 1",
    # Operators whose precedence differs between backends.
    "SELECT * FROM invoice WHERE id = 1 || 1",
    "SELECT * FROM invoice WHERE id = 1 OR 1",
    "SELECT * FROM invoice WHERE id = 1 XOR id = 2",
    "SELECT * FROM invoice WHERE id = 1 && 1",
    "SELECT * FROM invoice WHERE NOT id = 1",
    "SELECT * FROM invoice WHERE id BETWEEN 1 AND 2",
    # Joins of every kind.
    "SELECT * FROM customer c FULL JOIN invoice i USING (id)",
    "SELECT * FROM (invoice i LEFT JOIN customer c ON c.id = i.customer_id) AS j",
    "SELECT * FROM country LEFT JOIN (invoice JOIN customer ON customer.id = invoice.customer_id) ON invoice.country_id = country.id",
    "SELECT * FROM invoice NATURAL LEFT JOIN customer",
    "SELECT * FROM invoice i RIGHT JOIN customer c ON c.id = i.customer_id LEFT JOIN line l ON l.invoice_id = i.id",
    "SELECT * FROM invoice i, (invoice j CROSS JOIN customer) WHERE i.id = j.id",
    "SELECT * FROM invoice i STRAIGHT_JOIN customer c ON c.id = i.customer_id",
    "SELECT * FROM invoice, LATERAL (SELECT * FROM line WHERE line.invoice_id = invoice.id) l",
    "SELECT * FROM json_each('[1]') AS j JOIN invoice ON invoice.id = j.value",
    # Subqueries and set operations.
    "SELECT (SELECT max(id) FROM invoice) FROM country WHERE EXISTS (SELECT 1 FROM customer)",
    "SELECT * FROM invoice WHERE id IN (SELECT invoice_id FROM line) OR id = 1",
    "SELECT * FROM invoice UNION (SELECT * FROM customer ORDER BY 1 LIMIT 1)",
    "SELECT id FROM invoice INTERSECT SELECT id FROM customer EXCEPT SELECT id FROM plan",
    "TABLE invoice",
    "SELECT count(*) FROM invoice GROUP BY data_key HAVING count(*) > (SELECT count(*) FROM line)",
    # Comments, MySQL executable comments, hints, locks.
    "SELECT * FROM invoice /*! UNION SELECT * FROM customer */",
    "/*!50000 SELECT */ * FROM invoice",
    "SELECT * FROM invoice -- comment\n WHERE 1 = 1",
    "SELECT /*+ MAX_EXECUTION_TIME(1) */ * FROM invoice",
    "SELECT * FROM invoice FOR UPDATE",
    "SELECT * FROM invoice LOCK IN SHARE MODE",
    "SELECT * FROM ONLY invoice",
    "SELECT * FROM invoice TABLESAMPLE SYSTEM (10)",
    # Writes.
    "INSERT INTO invoice (id, data_key) VALUES (1, '1.4.5.') ON CONFLICT (id) DO UPDATE SET data_key = excluded.data_key",
    "INSERT INTO invoice (id, number) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET number = 'b' WHERE invoice.id > 0 OR 1 = 1",
    "INSERT INTO invoice (id, number) SELECT id, number FROM invoice WHERE id < 10 UNION SELECT 1, 'x'",
    "INSERT INTO invoice SET number = 'x', data_key = '1.4.'",
    "INSERT INTO invoice (id) VALUES (1) ON DUPLICATE KEY UPDATE data_key = '2.', number = 'y'",
    "INSERT INTO invoice DEFAULT VALUES",
    "INSERT OR REPLACE INTO invoice (id) VALUES (1)",
    "REPLACE INTO invoice (id) VALUES (1)",
    "INSERT INTO plan (id) VALUES (1)",
    "INSERT INTO country (id, name) SELECT id, number FROM invoice",
    "UPDATE country JOIN invoice ON invoice.country_id = country.id SET data_key = '2.'",
    "UPDATE invoice JOIN plan ON plan.id = invoice.plan_id SET name = 'x'",
    "UPDATE invoice i, customer c SET i.number = c.name WHERE i.customer_id = c.id",
    "UPDATE invoice SET data_key = '1.4.9.' FROM customer WHERE customer.id = invoice.customer_id",
    "UPDATE invoice SET (data_key, number) = ('1.4.', 'x')",
    "UPDATE OR REPLACE invoice SET id = 2 WHERE id = 1",
    "UPDATE invoice SET number = ? WHERE id = ? ORDER BY id LIMIT ?",
    "DELETE i FROM invoice i JOIN plan p ON p.id = i.plan_id",
    "DELETE p FROM plan p JOIN invoice i ON p.id = i.plan_id",
    "DELETE FROM plan USING plan JOIN invoice ON invoice.plan_id = plan.id",
    "DELETE FROM invoice USING customer WHERE customer.id = invoice.customer_id RETURNING *",
    # Placeholders.
    "SELECT * FROM invoice WHERE id = ? LIMIT ? OFFSET ?",
    "SELECT * FROM invoice WHERE id = $2 AND number = $1",
    "SELECT $1, ? FROM invoice",
    "INSERT INTO invoice (id, data_key) VALUES ($1, $2), ($3, $4)",
    "INSERT INTO invoice (data_key, id) VALUES (?, ?)",
    # Several statements.
    "SELECT 1; DELETE FROM invoice; UPDATE customer SET name = 'x'",
]


def rust_strings(text):
    """The string literals of a Rust source: regular and raw."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        m = re.match(r'r(#*)"', text[i:])
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = m.group(1)
            start = i + len(m.group(0))
            end = text.find('"' + hashes, start)
            if end < 0:
                return
            yield text[start:end]
            i = end + 1 + len(hashes)
            continue
        if c == "'" and i + 2 < n and text[i + 2] == "'":
            i += 3  # a char literal such as '"'
            continue
        if c == '"':
            out, j = [], i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    e = text[j + 1]
                    if e == "\n":
                        j += 2
                        while j < n and text[j] in " \t\n":
                            j += 1
                        continue
                    out.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}.get(e, e))
                    j += 2
                    continue
                out.append(text[j])
                j += 1
            yield "".join(out)
            i = j + 1
            continue
        i += 1


def write(target, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for t in ("prepared", "unprepared"):
        shutil.rmtree(os.path.join(SEEDS, t), ignore_errors=True)
    cases = []  # (sql, backends)
    for rel, backends in SOURCES.items():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            text = f.read()
        for s in rust_strings(text):
            if "{" in s or not SQL_START.match(s):
                continue
            cases.append((s, backends))
    cases += [(s, ALL) for s in HOSTILE]
    seen = set()
    count = {"prepared": 0, "unprepared": 0}
    for sql, backends in cases:
        raw = sql.encode("utf-8")
        if ("u", raw) not in seen:
            seen.add(("u", raw))
            write("unprepared", raw)
            count["unprepared"] += 1
        # byte: backend | prefix mode | tenant 1.4. | strings inside the tenant | prepared
        cfgs = [b for b in backends] + [0x80 | backends[-1]]
        for cfg in cfgs:
            data = bytes([cfg]) + raw
            if ("p", data) not in seen:
                seen.add(("p", data))
                write("prepared", data)
                count["prepared"] += 1
    print(f"seeds: {count['prepared']} prepared, {count['unprepared']} unprepared", file=sys.stderr)


if __name__ == "__main__":
    main()
