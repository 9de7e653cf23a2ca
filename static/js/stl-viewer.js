// 3D preview of an STL scan with three.js (served from /static/vendor, no CDN, no import map: the CSP stays
// strict). Loaded as a module, so it runs once per full page load.
import * as THREE from "../vendor/three/three.module.js";
import { STLLoader } from "../vendor/three/STLLoader.js";
import { OrbitControls } from "../vendor/three/OrbitControls.js";

function fail(box, message) {
  const status = box.querySelector("[data-status]");
  if (status) { status.textContent = message; }
  box.dataset.ready = "failed";
}

function frame(camera, controls, geometry) {
  const radius = geometry.boundingSphere.radius || 1;
  const distance = radius / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2));
  camera.near = distance / 100;
  camera.far = distance * 10;
  camera.position.set(0, -distance * 0.6, distance * 0.8);
  camera.up.set(0, 0, 1);
  camera.updateProjectionMatrix();
  controls.target.set(0, 0, 0);
  controls.update();
}

async function show(box) {
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  } catch (error) {
    fail(box, "This device cannot show 3D previews (WebGL is off). Download the STL file instead.");
    return;
  }
  const response = await fetch(box.dataset.src, { credentials: "same-origin" });
  if (!response.ok) { fail(box, "The scan could not be loaded."); return; }
  const geometry = new STLLoader().parse(await response.arrayBuffer());
  geometry.center();
  geometry.computeVertexNormals();
  geometry.computeBoundingSphere();

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xf3f4f6);
  const camera = new THREE.PerspectiveCamera(40, 1, 0.1, 1000);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8f98, 1.6));
  const light = new THREE.DirectionalLight(0xffffff, 1.8);
  light.position.set(0.3, 0.5, 1);
  camera.add(light);
  scene.add(camera);
  const material = new THREE.MeshStandardMaterial({ color: 0xe9dfc9, roughness: 0.55, metalness: 0, side: THREE.DoubleSide });
  scene.add(new THREE.Mesh(geometry, material));

  box.replaceChildren(renderer.domElement);
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const controls = new OrbitControls(camera, renderer.domElement);
  const draw = () => renderer.render(scene, camera);
  controls.addEventListener("change", draw);

  const resize = () => {
    const width = box.clientWidth, height = box.clientHeight;
    renderer.setSize(width, height);
    camera.aspect = width / Math.max(height, 1);
    camera.updateProjectionMatrix();
    draw();
  };
  new ResizeObserver(resize).observe(box);
  frame(camera, controls, geometry);
  resize();
  document.querySelector("[data-view-reset]")?.addEventListener("click", () => { frame(camera, controls, geometry); draw(); });
  box.dataset.ready = "true";
}

const box = document.querySelector("[data-stl-viewer]");
if (box) {
  show(box).catch(() => fail(box, "The 3D preview could not be shown. Download the STL file instead."));
}
