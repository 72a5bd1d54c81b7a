import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The Python API (`python -m agent web`) serves dist/index.html at "/" and the
// bundle under "/assets/". In development, `npm run dev` proxies /api to it
// (override the target with STREAMING_AVATAR_API, e.g. http://127.0.0.1:8090).
const apiTarget = process.env.STREAMING_AVATAR_API ?? "http://127.0.0.1:8090";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { "/api": { target: apiTarget, changeOrigin: false } },
  },
});
