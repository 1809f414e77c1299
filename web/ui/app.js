document.getElementById("app").textContent = "Atende";
