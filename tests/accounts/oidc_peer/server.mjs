// The OpenID Provider the browser tests sign in against: panva's oidc-provider (OpenID
// Certified), on loopback, with its development login and consent pages.
//
// Configured from the environment by tests/accounts/oidc_peer/__init__.py:
//   PEER_PORT       port to listen on (127.0.0.1); the issuer is http://127.0.0.1:PORT
//   PEER_CLIENT     JSON: {"client_id", "client_secret", "redirect_uris": [...]}
//   PEER_ACCOUNTS   JSON: {"<login>": {"email", "email_verified", "name"}, ...}
// Prints "ready <issuer>" on stdout once it listens.
import Provider from "oidc-provider";

const port = Number(process.env.PEER_PORT);
const client = JSON.parse(process.env.PEER_CLIENT);
const accounts = JSON.parse(process.env.PEER_ACCOUNTS);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      ...client,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
  },
  // The dev login page accepts any password; the login names an account above.
  async findAccount(ctx, sub) {
    const claims = accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  cookies: { keys: ["tollgate-peer-test-only"] },
  features: { devInteractions: { enabled: true } },
});

// Quiet: the dev-interactions warning is expected here.
provider.on("server_error", (ctx, error) => console.error("peer server_error", error));

const server = provider.listen(port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
