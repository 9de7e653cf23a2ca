-- wrk script: count non-200 answers across threads and print one parsable BENCH line.
-- wrk's own "Non-2xx or 3xx" count lets a 303 to /login pass; a page that bounces to sign-in is not a result.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local not_200 = 0
  for _, thread in ipairs(threads) do
    not_200 = not_200 + thread:get("not_ok")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%d p95_us=%d p99_us=%d max_us=%d " ..
    "not_200=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    not_200, e.status, e.connect, e.read, e.write, e.timeout))
end
