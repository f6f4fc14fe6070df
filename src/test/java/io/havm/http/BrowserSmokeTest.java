package io.havm.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BrowserSmokeTest {
    @Test
    void chromiumRendersAPage(@TempDir Path dir) throws Exception {
        Path page = dir.resolve("p.html");
        Files.writeString(page, "<title>t</title><p id=x>hello</p><script>document.getElementById('x').textContent+=' js'</script>");
        try (Browser b = new Browser()) {
            b.driver.get(page.toUri().toString());
            assertEquals("hello js", b.driver.findElement(org.openqa.selenium.By.id("x")).getText());
        }
    }
}
