-- wrk script for POST /search: reads the bearer token from SDE_TOKEN and rotates over a few
-- searches (a rare tag, a rare word, a common word, two terms, a date range).
-- Used by scripts/bench-export.py; by hand:
--   SDE_TOKEN=... wrk -t2 -c8 -d20s --latency -s scripts/bench-search.lua http://127.0.0.1:3000/search
local token = os.getenv("SDE_TOKEN") or ""
local bodies = {
  '{"type":"posts","results":10,"page":0,"search":[{"value":"#aurora"}]}',
  '{"type":"posts","results":10,"page":0,"search":[{"value":"zeppelin"}]}',
  '{"type":"posts","results":10,"page":0,"search":[{"value":"today"}]}',
  '{"type":"posts","results":10,"page":3,"search":[{"value":"today"},{"value":"#aurora"}]}',
  '{"type":"posts","results":10,"page":0,"search":[{"value":"zeppelin"},' ..
    '{"dateRange":["2019-03-01T00:00:00Z","2019-06-01T00:00:00Z"]}]}',
}
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. token,
}
local i = 0

request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
