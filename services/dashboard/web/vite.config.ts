import { defineConfig } from "vite";

// The page is served by services/dashboard (Falcon) from dist/; /api and /ws are proxied there.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
});
