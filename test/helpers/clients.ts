/** Clients the tests register (in configuration, as an operator would). */
export const RP_CALLBACK = 'https://rp.example.test/cb';
export const RP_LOGOUT = 'https://rp.example.test/';
export const WEB_SECRET = 'test-web-secret-0123456789abcdefghijklmnop';
export const RS_SECRET = 'test-rs-secret-0123456789abcdefghijklmnopq';
export const THIRD_SECRET = 'test-third-secret-0123456789abcdefghijklm';

export const testClients = [
  {
    client_id: 'test-web',
    client_name: 'Test Web',
    client_secret: WEB_SECRET,
    redirect_uris: [RP_CALLBACK],
    post_logout_redirect_uris: [RP_LOGOUT],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email offline_access',
    firstParty: true,
  },
  {
    client_id: 'test-cli',
    client_name: 'Test CLI',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'openid profile email offline_access',
    firstParty: true,
  },
  {
    client_id: 'test-third',
    client_name: 'Third Party App',
    client_secret: THIRD_SECRET,
    redirect_uris: [RP_CALLBACK],
    grant_types: ['authorization_code'],
    scope: 'openid profile email',
  },
  {
    client_id: 'test-rs',
    client_name: 'Resource Server',
    client_secret: RS_SECRET,
    redirect_uris: [],
    grant_types: [],
    response_types: [],
    resourceServer: true,
  },
];
