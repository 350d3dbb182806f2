// Bun benchmark client: N POSTs of 1 KiB with a bearer token over fetch's keep-alive connection; prints the seconds
// the N took (after one warm-up request that opens the connection). Usage: bun fetch_loop.mjs URL N
const [url, n] = [process.argv[2], Number(process.argv[3])];
// Started as a server is: the agent attaches once it has read the binary (~0.3 s for Bun's 107 MB on first sight).
await new Promise(resolve => setTimeout(resolve, 1000));
const init = {method: "POST", body: "x".repeat(1024), headers: {Authorization: "Bearer " + process.env.API_TOKEN}};
await (await fetch(url, init)).text();
const started = performance.now();
for (let i = 0; i < n; i++) await (await fetch(url, init)).text();
console.log(((performance.now() - started) / 1000).toFixed(6));
