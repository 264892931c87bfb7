// aws-jwt-verify, configured only from the discovery document and an audience, checks tokens.
// Usage: node verify.mjs <discovery url> <audience>  (stdin: {"name": "<jwt>", ...})
// Prints {"name": {"valid": true, "payload": {...}} | {"valid": false, "error": "<class>: <message>"}}.
// aws-jwt-verify fetches key sets over HTTPS only; the local server speaks HTTP, so this script
// fetches the JWKS named by jwks_uri itself and hands it to the verifier (cacheJwks).
import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";

const [discoveryUrl, audience] = process.argv.slice(2);
const getJson = async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
};

const discovery = await getJson(discoveryUrl);
const verifier = JwtVerifier.create({
  issuer: discovery.issuer,
  audience,
  jwksUri: discovery.jwks_uri,
});
verifier.cacheJwks(await getJson(discovery.jwks_uri));

const tokens = JSON.parse(readFileSync(0, "utf-8"));
const results = {};
for (const [name, token] of Object.entries(tokens)) {
  try {
    results[name] = { valid: true, payload: verifier.verifySync(token) };
  } catch (error) {
    results[name] = { valid: false, error: `${error.constructor.name}: ${error.message}` };
  }
}
process.stdout.write(JSON.stringify(results));
