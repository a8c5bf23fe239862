"""Debian's Chromium, headless, driven by Selenium through Debian's chromium-driver, presenting a certificate of
the demo PKI to the admin virtual host as an admin's browser would: the certificate and the demo CA in an NSS
database of a HOME of the test's own, and Chromium's AutoSelectCertificateForUrls policy (a managed policy file,
removed when the browser closes) choosing it for the admin host without a prompt."""
import json
import os
import shutil
import subprocess
import tempfile

POLICY_DIR = "/etc/chromium/policies/managed"


class Browser:
    def __init__(self, apache, cert="admin"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.home = tempfile.mkdtemp(prefix="chromium-home-")
        nss = os.path.join(self.home, ".pki", "nssdb")
        os.makedirs(nss)
        run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
        run("certutil", "-N", "-d", f"sql:{nss}", "--empty-password")
        run("certutil", "-A", "-d", f"sql:{nss}", "-n", "provisioner-demo-ca", "-t", "C,,", "-i",
            os.path.join(apache.pki, "ca.pem"))
        pem, key = apache.cert(cert)
        p12 = os.path.join(self.home, "client.p12")
        run("openssl", "pkcs12", "-export", "-in", pem, "-inkey", key, "-out", p12, "-passout", "pass:", "-name", cert)
        run("pk12util", "-d", f"sql:{nss}", "-i", p12, "-W", "")
        os.makedirs(POLICY_DIR, exist_ok=True)
        self.policy = os.path.join(POLICY_DIR, f"provisioner-test-{os.getpid()}.json")
        pattern = json.dumps({"pattern": f"https://localhost:{apache.admin_port}", "filter": {}})
        with open(self.policy, "w") as f:
            json.dump({"AutoSelectCertificateForUrls": [pattern]}, f)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                         f"--user-data-dir={self.home}/profile", "--no-first-run", "--disable-extensions"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=shutil.which("chromedriver"), env={**os.environ, "HOME": self.home})
        self.driver = webdriver.Chrome(service=service, options=options)
        self.base = f"https://localhost:{apache.admin_port}"

    def get(self, path):
        self.driver.get(self.base + path)
        return self.driver

    def console_errors(self):
        return [entry for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]

    def close(self):
        try:
            self.driver.quit()
        finally:
            if os.path.exists(self.policy):
                os.remove(self.policy)
            shutil.rmtree(self.home, ignore_errors=True)
