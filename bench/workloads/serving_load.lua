-- wrk script for the serving benchmark: POST the JSON body in the file named by
-- BENCH_BODY on every request, or, when BENCH_BODIES names a file of bodies (one a line),
-- each of those in turn; print the figures as one JSON line when done.
--
--   BENCH_BODY=row.json wrk -t1 -c8 -d10s --latency -s serving_load.lua http://127.0.0.1:PORT/predict

local path = os.getenv("BENCH_BODY")
local file = assert(io.open(path, "rb"), "BENCH_BODY names no readable file: " .. tostring(path))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local many = os.getenv("BENCH_BODIES")
if many ~= nil and many ~= "" then
  local requests, count, next_one = {}, 0, 0
  for line in assert(io.lines(many), "BENCH_BODIES names no readable file: " .. many) do
    count = count + 1
    requests[count] = wrk.format(nil, nil, nil, line)
  end
  assert(count > 0, "BENCH_BODIES holds no body: " .. many)
  request = function()
    next_one = next_one % count + 1
    return requests[next_one]
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
