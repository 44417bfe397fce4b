-- wrk: create a draft, then finalize it; documents/s = finalizations/s.
-- Each wrk thread keeps the ids of its drafts; a request finalizes one when there is one.
-- With BENCH_REFUSE_EVERY=k, every k-th creation sends BENCH_BAD_BODY, which the writer refuses
-- (a 422 from inside its batch): what those cost the others is the difference in documents/s.
-- With BENCH_KEYS (comma-separated), each wrk thread writes to the account of one of the keys.
key = os.getenv("BENCH_KEY")
local drafts = {}
created, finalized, refused, failed = 0, 0, 0, 0
local body = os.getenv("BENCH_BODY")
local bad_body = os.getenv("BENCH_BAD_BODY")
local refuse_every = tonumber(os.getenv("BENCH_REFUSE_EVERY") or "0")
local creations = 0

function request()
  local id = table.remove(drafts)
  if id then
    return wrk.format("PUT", "/invoices/" .. id .. "/change-state.json?api_key=" .. key,
      {["Content-Type"] = "application/json"}, '{"invoice":{"state":"finalized"}}')
  end
  creations = creations + 1
  if refuse_every > 0 and creations % refuse_every == 0 then
    return wrk.format("POST", "/invoices.json?api_key=" .. key, {["Content-Type"] = "application/json"}, bad_body)
  end
  return wrk.format("POST", "/invoices.json?api_key=" .. key, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, resp)
  if status == 201 then
    local id = string.match(resp, '"id":(%d+)')
    table.insert(drafts, id)
    created = created + 1
  elseif status == 200 then
    finalized = finalized + 1
  elseif status == 422 then
    refused = refused + 1
  else
    failed = failed + 1
  end
end

local keys = {}
for k in string.gmatch(os.getenv("BENCH_KEYS") or "", "[^,]+") do table.insert(keys, k) end

function setup(thread)
  table.insert(threads, thread)
  if #keys > 0 then
    thread:set("key", keys[(#threads - 1) % #keys + 1])
  end
end

threads = {}

function done(summary, latency, requests)
  local c, f, r, x = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); f = f + t:get("finalized"); r = r + t:get("refused"); x = x + t:get("failed")
  end
  io.write(string.format("DOCS created=%d finalized=%d refused=%d failed=%d\n", c, f, r, x))
end
