// The dashboard page served at GET /: one HTML document with its CSS and
// script inline, no external asset (no CDN, no font, no library). It polls
// GET /dashboard/state every second and GET /counters every two, and draws
// its charts as SVG paths by hand (four line charts need ~40 lines of code;
// a charting library would be the biggest thing on the page). Every value
// from the cluster is inserted with textContent or as an SVG attribute
// number, never as HTML.

/** The page. Constant; served with a CSP that allows only its inline script and style. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tally cluster</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
:root{--bg:#f5f7fa;--card:#fff;--ink:#1d2733;--mute:#6b7785;--line:#e3e8ee;--ok:#13795b;--okbg:#e3f5ee;--bad:#b42318;--badbg:#fdecea;--warn:#a15c07;--warnbg:#fff4e0;--blue:#2563eb}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:baseline;gap:1rem;padding:1rem 1.5rem;background:#16202c;color:#fff}
header h1{margin:0;font-size:1.15rem;font-weight:600;letter-spacing:.02em}
header .sub{color:#9fb0c3;font-size:.85rem}
main{padding:1.25rem 1.5rem;max-width:1280px;margin:0 auto}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;margin-bottom:1.25rem}
h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--mute);margin:0 0 .75rem}
#verdict{display:flex;align-items:center;gap:1.25rem;flex-wrap:wrap}
#verdict .big{font-size:1.5rem;font-weight:650;padding:.35rem .9rem;border-radius:8px}
.big.ok{background:var(--okbg);color:var(--ok)}.big.bad{background:var(--badbg);color:var(--bad)}.big.none{background:#eef1f4;color:var(--mute)}
#verdict .facts{color:var(--mute);display:flex;gap:1.25rem;flex-wrap:wrap}
#verdict .facts b{color:var(--ink);font-weight:600}
table{border-collapse:collapse;width:100%}
th{font-size:.75rem;text-transform:uppercase;letter-spacing:.06em;color:var(--mute);text-align:left;font-weight:600;padding:.4rem .6rem;border-bottom:1px solid var(--line)}
td{padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-size:.8rem;font-weight:600}
.pill.healthy{background:var(--okbg);color:var(--ok)}.pill.suspect{background:var(--warnbg);color:var(--warn)}
.pill.ejected{background:var(--badbg);color:var(--bad)}.pill.down{background:var(--bad);color:#fff}
tr.down td{background:#fff8f7}
.reason{color:var(--bad);font-size:.85rem;max-width:28rem;word-break:break-word}
.mute{color:var(--mute)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:1rem}
.chart{border:1px solid var(--line);border-radius:8px;padding:.6rem .75rem}
.chart .title{display:flex;justify-content:space-between;font-size:.85rem;font-weight:600}
.chart .title .now{color:var(--blue);font-variant-numeric:tabular-nums}
.chart svg{display:block;width:100%;height:120px}
.chart .axis{display:flex;justify-content:space-between;color:var(--mute);font-size:.72rem}
svg .grid{stroke:var(--line);stroke-width:1}
svg .line{fill:none;stroke:var(--blue);stroke-width:2;vector-effect:non-scaling-stroke}
svg .line.err{stroke:var(--bad)}
tr.down td.num{color:var(--mute)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.25rem}
@media (max-width:800px){.cols{grid-template-columns:1fr}}
input[type=search]{width:100%;padding:.45rem .6rem;border:1px solid var(--line);border-radius:6px;font:inherit;margin-bottom:.75rem}
#err{color:var(--bad);margin:0 0 1rem}
</style></head><body>
<header><h1>Tally cluster</h1><span class="sub">live view from this gateway · refreshed every second</span></header>
<main>
<p id="err"></p>
<section class="card"><h2>Verdict</h2><div id="verdict"><span class="big none">waiting for the first poll…</span></div></section>
<section class="card"><h2>Nodes</h2>
<table><thead><tr><th>Node</th><th>State</th><th>Since</th><th class="num">Value</th><th>Peers live / suspect / dead</th><th class="num">Loop delay</th><th class="num">Repl. lag</th><th>Reason</th></tr></thead>
<tbody id="nodes"></tbody></table></section>
<section class="card"><h2>Last 15 minutes</h2><div class="charts">
<div class="chart"><div class="title"><span>Writes / s <span class="mute">(errors in red)</span></span><span class="now" id="now-writes"></span></div><svg id="chart-writes" viewBox="0 0 300 100" preserveAspectRatio="none"></svg><div class="axis"><span class="from">−15 min</span><span class="max"></span><span>now</span></div></div>
<div class="chart"><div class="title"><span>Error rate</span><span class="now" id="now-errors"></span></div><svg id="chart-errors" viewBox="0 0 300 100" preserveAspectRatio="none"></svg><div class="axis"><span class="from">−15 min</span><span class="max"></span><span>now</span></div></div>
<div class="chart"><div class="title"><span>p99 write latency</span><span class="now" id="now-p99"></span></div><svg id="chart-p99" viewBox="0 0 300 100" preserveAspectRatio="none"></svg><div class="axis"><span class="from">−15 min</span><span class="max"></span><span>now</span></div></div>
<div class="chart"><div class="title"><span>Convergence spread</span><span class="now" id="now-spread"></span></div><svg id="chart-spread" viewBox="0 0 300 100" preserveAspectRatio="none"></svg><div class="axis"><span class="from">−15 min</span><span class="max"></span><span>now</span></div></div>
</div></section>
<section class="card"><h2>Counters</h2>
<input type="search" id="filter" placeholder="Filter counters and tenants by name…" aria-label="filter counters">
<div class="cols">
<div><table><thead><tr><th>Counter</th><th class="num">Value</th></tr></thead><tbody id="counters"></tbody></table></div>
<div><table><thead><tr><th>Tenant (items:&lt;tenant&gt;)</th><th class="num">Items</th></tr></thead><tbody id="tenants"></tbody></table></div>
</div></section>
</main>
<script>
"use strict";
const WINDOW=15*60*1000, SVGNS="http://www.w3.org/2000/svg";
let samples=[], lastT=0, counters=[];
const $=function(id){return document.getElementById(id)};
function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=String(text);return e}
function dur(ms){if(ms==null)return"";const s=Math.round(ms/1000);if(s<60)return s+" s";const m=Math.floor(s/60);if(m<60)return m+" min "+(s%60)+" s";return Math.floor(m/60)+" h "+(m%60)+" min"}
function fmt(x,d){return x==null?"—":Number(x).toLocaleString(undefined,{maximumFractionDigits:d==null?2:d})}
function verdict(st){
  const v=st.verdict, box=$("verdict"); box.replaceChildren();
  let big;
  if(v.converged===true)big=el("span","big ok","✓ Converged on "+fmt(v.value,0));
  else if(v.converged===false)big=el("span","big bad","✗ Not converged — spread "+fmt(v.spread,0));
  else big=el("span","big none","No node answers");
  big.id="verdict-text";box.appendChild(big);
  if(v.converged!=null){const h=el("span","mute",v.converged?"default counter · every answering node holds the same state":"default counter values differ or state digests differ");box.appendChild(h)}
  const facts=el("div","facts");
  const known=st.nodes.length, down=st.nodes.filter(function(n){return n.state==="down"}).length;
  function fact(label,val,id){const s=el("span",null,label+" ");const b=el("b",null,val);if(id)b.id=id;s.appendChild(b);facts.appendChild(s)}
  fact("last change",dur(v.sinceChangeMs)+" ago");
  fact("answering",v.answering+" of "+known+" nodes");
  if(down>0)fact("down",String(down),"down-count");
  fact("discovery",st.discovery==null?"not configured":st.discovery.reachable?"reachable":"unreachable"+(st.discovery.lastOkMsAgo==null?"":" (last answer "+dur(st.discovery.lastOkMsAgo)+" ago)"),"discovery");
  box.appendChild(facts);
}
function nodes(st){
  const tb=$("nodes"); tb.replaceChildren();
  st.nodes.forEach(function(n){
    const tr=el("tr",n.state);tr.dataset.node=n.id||n.address;
    const name=el("td");name.appendChild(el("div",null,n.id||"(id unknown)"));name.appendChild(el("div","mute",n.address));tr.appendChild(name);
    const s=el("td");s.appendChild(el("span","pill "+n.state,n.state));s.className="state";tr.appendChild(s);
    tr.appendChild(el("td","mute",dur(n.sinceMs)));
    tr.appendChild(el("td","num",fmt(n.value,0)));
    tr.appendChild(el("td",null,n.peers?n.peers.live+" / "+n.peers.suspect+" / "+n.peers.dead:"—"));
    tr.appendChild(el("td","num",n.eventLoopDelayMs==null?"—":fmt(n.eventLoopDelayMs)+" ms"));
    tr.appendChild(el("td","num",n.lagSeconds==null?"—":fmt(n.lagSeconds)+" s"));
    tr.appendChild(el("td","reason",n.state==="healthy"?"":(n.lastError||"")));
    tb.appendChild(tr);
  });
}
// The x axis spans the history held, from one minute up to the 15-minute window.
function span(now){const first=samples.length?samples[0].t:now;return Math.min(WINDOW,Math.max(60000,now-first))}
function path(points,now,max){
  let d="",pen=false;const w=span(now);
  points.forEach(function(p){
    if(p.v==null){pen=false;return}
    const x=300*(1-(now-p.t)/w), y=100-92*(p.v/max)-4;
    d+=(pen?"L":"M")+x.toFixed(1)+" "+y.toFixed(1);pen=true;
  });
  return d;
}
function chart(id,now,series,unit){
  const svg=$("chart-"+id); svg.replaceChildren();
  let max=0; series.forEach(function(s){s.points.forEach(function(p){if(p.v!=null&&p.v>max)max=p.v})});
  max=max<=0?1:max*1.1;
  [4,50,96].forEach(function(y){const l=document.createElementNS(SVGNS,"line");l.setAttribute("class","grid");l.setAttribute("x1","0");l.setAttribute("x2","300");l.setAttribute("y1",String(y));l.setAttribute("y2",String(y));svg.appendChild(l)});
  svg.parentNode.querySelector(".max").textContent="top "+fmt(max)+unit;
  series.forEach(function(s){const p=document.createElementNS(SVGNS,"path");p.setAttribute("class","line"+(s.err?" err":""));p.setAttribute("d",path(s.points,now,max));svg.appendChild(p)});
}
function charts(now){
  const pick=function(k){return samples.map(function(s){return{t:s.t,v:s[k]}})};
  const rate=samples.map(function(s){const tot=(s.writesPerSec||0)+(s.errorsPerSec||0);return{t:s.t,v:s.writesPerSec==null?null:tot===0?0:100*(s.errorsPerSec||0)/tot}});
  chart("writes",now,[{points:pick("writesPerSec")},{points:pick("errorsPerSec"),err:true}],"/s");
  chart("errors",now,[{points:rate,err:true}],"%");
  chart("p99",now,[{points:pick("p99Ms")}]," ms");
  chart("spread",now,[{points:pick("spread")}],"");
  const ago="−"+dur(span(now)).replace(/ 0 s$/,"");
  document.querySelectorAll(".axis .from").forEach(function(e){e.textContent=ago});
  const last=samples[samples.length-1]||{};
  $("now-writes").textContent=fmt(last.writesPerSec)+"/s";
  const r=rate[rate.length-1];$("now-errors").textContent=r&&r.v!=null?fmt(r.v,1)+" %":"—";
  $("now-p99").textContent=last.p99Ms==null?"—":fmt(last.p99Ms)+" ms";
  $("now-spread").textContent=fmt(last.spread,0);
}
function renderCounters(){
  const f=$("filter").value.trim().toLowerCase(), cb=$("counters"), tb=$("tenants");
  cb.replaceChildren();tb.replaceChildren();
  counters.forEach(function(c){
    if(f&&c.name.toLowerCase().indexOf(f)<0)return;
    const tr=el("tr");
    if(c.name.indexOf("items:")===0){tr.appendChild(el("td",null,c.name.slice(6)));tr.appendChild(el("td","num",fmt(c.value,0)));tb.appendChild(tr)}
    else{tr.appendChild(el("td",null,c.name));tr.appendChild(el("td","num",fmt(c.value,0)));cb.appendChild(tr)}
  });
  if(!cb.children.length){const tr=el("tr");tr.appendChild(el("td","mute",f?"no match":"no counters yet"));cb.appendChild(tr)}
  if(!tb.children.length){const tr=el("tr");tr.appendChild(el("td","mute",f?"no match":"no tenants yet"));tb.appendChild(tr)}
}
async function tick(){
  try{
    const st=await (await fetch("/dashboard/state"+(lastT?"?since="+lastT:""))).json();
    if(st.error)throw new Error(st.error.code+": "+st.error.message);
    samples=samples.concat(st.samples).filter(function(s){return s.t>st.now-WINDOW});
    if(samples.length)lastT=samples[samples.length-1].t;
    verdict(st);nodes(st);charts(st.now);
    $("err").textContent="";
  }catch(e){$("err").textContent="cannot reach the gateway: "+e}
}
async function tickCounters(){
  try{
    const c=await (await fetch("/counters")).json();
    counters=c.counters||[];renderCounters();
  }catch(e){}
}
$("filter").addEventListener("input",renderCounters);
tick();tickCounters();setInterval(tick,1000);setInterval(tickCounters,2000);
</script></body></html>
`
