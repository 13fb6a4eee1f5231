// minio-js scenario for test_sdk_js.py. Input: one JSON argument
// {host, port, accessKey, secretKey, bucket}. minio-js always sends encoding-type=url on
// listings and always decodes ('+' -> ' ' then decodeURIComponent).
import { createHash } from 'node:crypto';
import * as Minio from 'minio';

const cfg = JSON.parse(process.argv[2]);
const mc = new Minio.Client({
    endPoint: cfg.host, port: cfg.port, useSSL: false, accessKey: cfg.accessKey,
    secretKey: cfg.secretKey, region: 'us-east-1', pathStyle: true,
});
const B = cfg.bucket;
const md5 = (buf) => createHash('md5').update(buf).digest('hex');
const out = {};

async function readAll(stream) {
    const parts = [];
    for await (const c of stream) parts.push(c);
    return Buffer.concat(parts);
}
function listAll(prefix, recursive) {
    return new Promise((resolve, reject) => {
        const items = [];
        const s = mc.listObjectsV2(B, prefix, recursive);
        s.on('data', (o) => items.push(o.name ?? o.prefix));
        s.on('error', reject);
        s.on('end', () => resolve(items));
    });
}
function listV1(prefix) {
    return new Promise((resolve, reject) => {
        const items = [];
        const s = mc.listObjects(B, prefix, true);
        s.on('data', (o) => items.push(o.name ?? o.prefix));
        s.on('error', reject);
        s.on('end', () => resolve(items));
    });
}

const keys = ['minio/a+b=c d.txt', 'minio/plus+only', 'minio/sp ace', 'minio/ünï.txt'];
const bodies = {};
for (const k of keys) {
    bodies[k] = Buffer.from(`body of ${k}`);
    const r = await mc.putObject(B, k, bodies[k], bodies[k].length,
                                 { 'Content-Type': 'text/plain', 'X-Amz-Meta-Color': 'red' });
    out[`put:${k}`] = r.etag;
}
out.get = {};
for (const k of keys) {
    const data = await readAll(await mc.getObject(B, k));
    out.get[k] = data.equals(bodies[k]);
}
const stat = await mc.statObject(B, keys[0]);
out.stat = { size: stat.size, etag: stat.etag, color: stat.metaData?.color ?? null };
out.listV2 = await listAll('minio/', true);
out.listV1 = await listV1('minio/');
out.listDirs = await listAll('', false);
const partial = await readAll(await mc.getPartialObject(B, keys[0], 2, 5));
out.partial = partial.toString();
await mc.copyObject(B, 'minio/copy of a+b=c d.txt', `/${B}/${keys[0]}`,
                    new Minio.CopyConditions());
out.copy = (await readAll(await mc.getObject(B, 'minio/copy of a+b=c d.txt'))).toString();
await mc.removeObjects(B, [keys[1], keys[2]]);
out.afterRemove = await listAll('minio/', true);
await mc.removeObject(B, keys[3]);
try {
    await mc.statObject(B, keys[3]);
    out.removed = 'still there';
} catch (e) {
    out.removed = e.code;
}
out.md5 = md5(bodies[keys[0]]);
console.log(JSON.stringify(out));
