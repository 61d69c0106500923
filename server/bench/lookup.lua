-- wrk script: POST /v2/cards/lookup for two identities with a directory token.
-- The token comes from the environment (CHATSEAL_BENCH_TOKEN), set by load.sh.
wrk.method = "POST"
wrk.body = '{"identities": ["alice@clinic-a", "bob@clinic-a"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("CHATSEAL_BENCH_TOKEN")

-- Count answers that are not 200 (wrk's own "Non-2xx" line misses nothing, but a 200
-- with the wrong body would; check one body per thread).
local checked = false
response = function(status, headers, body)
  if not checked then
    checked = true
    if status ~= 200 or not string.find(body, "alice@clinic-a", 1, true) then
      io.stderr:write("unexpected answer " .. status .. ": " .. body .. "\n")
    end
  end
end
