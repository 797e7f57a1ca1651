// Renders build/icon.svg to the PNG sizes electron-builder needs (it derives .ico/.icns from icon.png).
import sharp from 'sharp';

const svg = new URL('./icon.svg', import.meta.url);
await sharp(svg.pathname).resize(1024, 1024).png().toFile(new URL('./icon.png', import.meta.url).pathname);
for (const size of [16, 32, 48, 64, 128, 256, 512]) {
  await sharp(svg.pathname).resize(size, size).png().toFile(new URL(`./icons/${size}x${size}.png`, import.meta.url).pathname);
}
console.log('icons written to build/');
