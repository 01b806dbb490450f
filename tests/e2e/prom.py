#!/usr/bin/env python3
"""Validates Prometheus text exposition (format 0.0.4) read from stdin, strictly enough to
catch malformed output: every sample line is 'name{labels} value', names are valid, every
family has # TYPE before its samples, histogram buckets are cumulative and end with +Inf equal
to _count. Prints 'valid' or the first problem, then (with --get NAME) the value of a sample."""
import re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(%s=\"[^\"]*\"(,%s=\"[^\"]*\")*)?\})? (\S+)$" % (NAME, NAME, NAME))
text = sys.stdin.read()
types, samples, problem = {}, {}, None
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("# TYPE "):
        parts = line.split()
        if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
            problem = problem or "line %d: bad TYPE" % n
        types[parts[2]] = parts[3]
        continue
    if line.startswith("#") or not line:
        continue
    m = SAMPLE.match(line)
    if not m:
        problem = problem or "line %d: not a sample: %r" % (n, line)
        continue
    name, value = m.group(1), m.group(5)
    try:
        v = float(value.replace("+Inf", "inf"))
    except ValueError:
        problem = problem or "line %d: bad value %r" % (n, value)
        continue
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if name not in types and base not in types:
        problem = problem or "line %d: %s has no TYPE" % (n, name)
    samples[name + (m.group(2) or "")] = v
for fam, t in types.items():
    if t != "histogram":
        continue
    buckets = [(k, v) for k, v in samples.items() if k.startswith(fam + "_bucket{")]
    vals = [v for _, v in buckets]
    if vals != sorted(vals):
        problem = problem or "%s buckets not cumulative" % fam
    inf = samples.get(fam + '_bucket{le="+Inf"}')
    if inf is None or inf != samples.get(fam + "_count"):
        problem = problem or "%s +Inf bucket != _count" % fam
print(problem or "valid")
for i, a in enumerate(sys.argv):
    if a == "--get":
        print(samples.get(sys.argv[i + 1], "missing"))
