-- wrk: every request carries the next member's cookie (one per line in the file given
-- after `--`), so consecutive requests come from different members, as in production.
local cookies = {}
local next_one = 0

function init(args)
  for line in io.lines(args[1]) do
    cookies[#cookies + 1] = line
  end
  -- Each round starts at a different member, so no round replays the last one's order.
  math.randomseed(os.time())
  next_one = math.random(#cookies) - 1
end

function request()
  next_one = next_one % #cookies + 1
  return wrk.format(nil, nil, { ["Cookie"] = cookies[next_one] })
end
