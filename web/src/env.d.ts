// Vite turns `import './styles.css'` into a stylesheet <link>; tell TypeScript it exists.
declare module '*.css' {}
