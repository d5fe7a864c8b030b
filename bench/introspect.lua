-- wrk: POST /oauth/introspect as another service does (form body, HTTP Basic).
-- Arguments after `--`: the session id to ask about, then the Authorization header.
function init(args)
  wrk.method = "POST"
  wrk.body = "token=" .. args[1] .. "&token_type_hint=session_id"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = args[2]
end
