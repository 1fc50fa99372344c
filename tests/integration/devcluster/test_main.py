"""The process entry point serves until SIGTERM, and writes a kubeconfig that points at it."""

import asyncio
import pathlib
import signal
import sys

import aiohttp
import yaml


async def test_module_entry_point(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    args = ["-m", "greenshift.devcluster", "--available-deployments", "--kubeconfig", str(kubeconfig)]
    process = await asyncio.create_subprocess_exec(sys.executable, *args, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        config = yaml.safe_load(kubeconfig.read_text())
        assert config["current-context"] == "greenshift-dev"
        assert config["clusters"][0] == {
            "name": "greenshift-dev",
            "cluster": {"server": url, "insecure-skip-tls-verify": True},
        }
        async with aiohttp.ClientSession(url) as client, client.get("/api/v1/namespaces/default") as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
