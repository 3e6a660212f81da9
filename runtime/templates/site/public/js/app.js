document.querySelector("h1").title = "served by edgeworks";
