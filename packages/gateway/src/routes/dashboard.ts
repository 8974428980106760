// A read-only dashboard at GET /: one static page (no external assets) that
// polls GET /nodes and GET /counters and renders them. All data is inserted
// with textContent, never as HTML.

import type { FastifyInstance } from 'fastify'

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tally gateway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.healthy{color:#080}.ejected{color:#b00}.unknown{color:#888}#err{color:#b00}
</style></head><body>
<h1>Tally gateway</h1><p id="err"></p>
<h2>Nodes</h2><table><thead><tr><th>id</th><th>address</th><th>health</th><th>in flight (gateway / node)</th><th>loop delay ms</th><th>last check</th><th>default counter</th></tr></thead><tbody id="nodes"></tbody></table>
<h2>Counters</h2><table><thead><tr><th>name</th><th>value</th></tr></thead><tbody id="counters"></tbody></table>
<script>
function row(cells, cls){const tr=document.createElement('tr');cells.forEach(function(c,i){const td=document.createElement('td');td.textContent=c==null?'':String(c);if(i===2&&cls)td.className=cls;tr.appendChild(td)});return tr}
async function tick(){
  try{
    const n=await (await fetch('/nodes')).json();
    const tb=document.getElementById('nodes');tb.replaceChildren();
    (n.nodes||[]).forEach(function(x){tb.appendChild(row([x.id,x.address,x.health,x.load.gatewayInflight+' / '+(x.load.inflight==null?'?':x.load.inflight),x.load.eventLoopDelayMs,x.lastCheck,x.value],x.health))});
    const c=await (await fetch('/counters')).json();
    const cb=document.getElementById('counters');cb.replaceChildren();
    (c.counters||[]).forEach(function(x){cb.appendChild(row([x.name,x.value]))});
    document.getElementById('err').textContent=c.error?c.error.code+': '+c.error.message:'';
  }catch(e){document.getElementById('err').textContent=String(e)}
}
tick();setInterval(tick,1000);
</script></body></html>
`

/** Registers `GET /` (the dashboard page). */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_req, reply) => {
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      )
      .header('x-content-type-options', 'nosniff')
    return PAGE
  })
}
