// A real OpenID Connect provider for the tests: the `oidc-provider` package (a certified
// implementation) on 127.0.0.1, with its development sign-in pages, where any login name
// signs in as the account of that name. The runner is its one confidential client.

import { createServer } from "node:http";

import Provider from "oidc-provider";

/**
 * Starts the provider on `port` as issuer `http://127.0.0.1:<port>`, with the runner as the
 * client `clientId`/`clientSecret` redirecting to `redirectUri`, and `accounts` (login name →
 * claims such as email, email_verified, groups). Returns { issuer, stop }.
 */
export async function startIdentityProvider({ port, clientId, clientSecret, redirectUri, accounts }) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
    }],
    scopes: ["openid", "email", "groups"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    // The claims go in the ID token, where the runner reads them (it calls no userinfo).
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...accounts[id] }) }),
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ["identity-provider-test-cookie-key"] },
  });
  const server = createServer(provider.callback());
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { issuer, stop: () => server.close() };
}
