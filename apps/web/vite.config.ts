import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The gateway the dev server forwards to (`npm start` runs it on :4000). */
const gateway = process.env.WARDEN_GATEWAY ?? 'http://localhost:4000';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 700 },
  server: {
    port: 5173,
    // Same-origin in development too: the session cookie and the gateway's Origin check (CSRF) hold
    // because the proxy presents the gateway's own origin.
    proxy: Object.fromEntries(
      ['/graphql', '/auth', '/oauth', '/audit/export.csv', '/exports'].map((p) => [
        p,
        {
          target: gateway,
          ws: p === '/graphql',
          configure: (proxy: {
            on(event: 'proxyReq' | 'proxyReqWs', cb: (req: { setHeader(n: string, v: string): void }) => void): void;
          }) => {
            proxy.on('proxyReq', (req) => req.setHeader('origin', gateway));
            proxy.on('proxyReqWs', (req) => req.setHeader('origin', gateway));
          },
        },
      ]),
    ),
  },
});
